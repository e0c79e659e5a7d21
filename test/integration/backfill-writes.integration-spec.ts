import { DataSource } from 'typeorm';
import { MINUTE_MS } from '../../src/contracts/market-time';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { Candle } from '../../src/market-data/market-data.types';
import { startTestApp, TestApp } from '../support/app-harness';

const START = Date.parse('2026-11-25T03:45:00Z');

function candle(token: number, index: number, close: number): Candle {
  return {
    instrumentToken: token,
    time: new Date(START + index * MINUTE_MS),
    open: close - 1,
    high: close + 1,
    low: close - 2,
    close,
    volume: 75,
    oi: index % 2 === 0 ? 1000 : null,
    iv: index % 3 === 0 ? null : 0.15,
    delta: 0.5,
    gamma: 0.001,
    theta: -1.25,
    vega: 9.5,
    underlyingClose: null,
  };
}

// The batched (COPY and merge) history path keeps the precedence rules of the single-statement one.
describe('history upsert through COPY', () => {
  let app: TestApp;
  let candles: CandlesRepository;

  beforeAll(async () => {
    app = await startTestApp();
    candles = app.app.get(CandlesRepository);
  });
  afterAll(async () => app?.close());

  const closes = async (
    token: number,
  ): Promise<{ close: number; source: string; oi: string | null; iv: number | null }[]> =>
    app.database.query(
      `SELECT close, source, oi, iv FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
      [token],
    );

  it('replaces stream bars, keeps nulls, counts changed rows, and is idempotent', async () => {
    await candles.mergeStreamBars([candle(1, 0, 5), candle(1, 1, 5)]);
    const batch = Array.from({ length: 1500 }, (_, i) => candle(1, i, 100 + i));
    expect(await candles.upsertHistory(batch)).toBe(1500);
    const rows = await closes(1);
    expect(rows).toHaveLength(1500);
    expect(rows[0]).toEqual({ close: 100, source: 'history', oi: '1000', iv: null });
    expect(rows[1]).toEqual({ close: 101, source: 'history', oi: null, iv: 0.15 });
    // Unchanged values write nothing; a stream bar never overwrites history.
    expect(await candles.upsertHistory(batch)).toBe(0);
    expect(await candles.mergeStreamBars([candle(1, 2, 1)])).toBe(0);
    expect((await closes(1))[2].close).toBe(102);
  });

  it('keeps stored greeks where history has none and writes a refetch that brings them', async () => {
    const token = 4;
    const minutes = 1200;
    const stream = Array.from({ length: minutes }, (_, i) => ({
      ...candle(token, i, 50),
      iv: 0.2,
      underlyingClose: 24_400 + i,
    }));
    await candles.mergeStreamBars(stream);
    // Kite's answer for the same minutes: no greeks, no underlying level.
    const kite = Array.from({ length: minutes }, (_, i) => ({
      ...candle(token, i, 60 + i),
      iv: null,
      delta: null,
      gamma: null,
      theta: null,
      vega: null,
      underlyingClose: null,
    }));
    expect(await candles.upsertHistory(kite)).toBe(minutes);
    const greeks = async () =>
      app.database.query<{
        close: number;
        source: string;
        iv: number;
        vega: number;
        underlying_close: number;
      }>(
        `SELECT close, source, iv, vega, underlying_close FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
        [token],
      );
    const kept = await greeks();
    expect(kept).toHaveLength(minutes);
    kept.forEach((row, i) =>
      expect(row).toEqual({
        close: 60 + i,
        source: 'history',
        iv: 0.2,
        vega: 9.5,
        underlying_close: 24_400 + i,
      }),
    );
    expect(await candles.upsertHistory(kite)).toBe(0);
    // The ticker's history brings greeks for every third minute: those minutes, and only those, change.
    const refetch = kite.map((c, i) => (i % 3 === 0 ? { ...c, iv: 0.3 } : c));
    expect(await candles.upsertHistory(refetch)).toBe(minutes / 3);
    expect((await greeks()).filter((row) => row.iv === 0.3)).toHaveLength(minutes / 3);
    expect(await candles.upsertHistory(refetch)).toBe(0);
  });

  it("removes the stream bars of minutes the answer leaves empty inside its window, in the caller's transaction", async () => {
    const token = 5;
    const minutes = 1200;
    await candles.mergeStreamBars(Array.from({ length: minutes + 1 }, (_, i) => candle(token, i, 5)));
    // Every twelfth minute had no trade: history has no candle there.
    const answer = Array.from({ length: minutes }, (_, i) => candle(token, i, 100 + i)).filter(
      (_, i) => i % 12 !== 0,
    );
    const window = {
      instrumentToken: token,
      from: new Date(START),
      to: new Date(START + minutes * MINUTE_MS),
    };
    const dataSource = app.app.get(DataSource);
    await expect(
      dataSource.transaction(async (manager) => {
        await candles.upsertHistory(answer, manager, window);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await closes(token)).toHaveLength(minutes + 1);
    const written = await dataSource.transaction((manager) => candles.upsertHistory(answer, manager, window));
    expect(written).toBe(minutes);
    const rows = await closes(token);
    // The answered minutes are history, the empty ones are gone, the minute after the window stays.
    expect(rows).toHaveLength(answer.length + 1);
    expect(rows.filter((row) => row.source === 'stream')).toEqual([
      expect.objectContaining({ close: 5, source: 'stream' }),
    ]);
  });

  it('writes two batches in one transaction, and nothing when the transaction fails', async () => {
    const dataSource = app.app.get(DataSource);
    await dataSource.transaction(async (manager) => {
      await candles.upsertHistory(
        Array.from({ length: 1200 }, (_, i) => candle(2, i, 1)),
        manager,
      );
      await candles.upsertHistory(
        Array.from({ length: 1100 }, (_, i) => candle(2, 2000 + i, 2)),
        manager,
      );
    });
    expect(await closes(2)).toHaveLength(2300);
    await expect(
      dataSource.transaction(async (manager) => {
        await candles.upsertHistory(
          Array.from({ length: 1200 }, (_, i) => candle(3, i, 1)),
          manager,
        );
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await closes(3)).toHaveLength(0);
  });
});
