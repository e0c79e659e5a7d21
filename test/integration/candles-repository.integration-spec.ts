import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { Candle } from '../../src/market-data/market-data.types';
import { createTestDatabase, TestDatabase } from '../support/database';

const TOKEN = 13660418;
const T0 = new Date('2025-11-03T03:45:00Z'); // 09:15 IST

function candle(minute: number, patch: Partial<Candle> = {}): Candle {
  return {
    instrumentToken: TOKEN,
    time: new Date(T0.getTime() + minute * 60_000),
    open: 100,
    high: 110,
    low: 95,
    close: 105,
    volume: 1500,
    oi: 120000,
    iv: 0.15,
    delta: 0.5,
    gamma: 0.001,
    theta: -10,
    vega: 9,
    underlyingClose: 24500,
    ...patch,
  };
}

/** A fresh database with the schema migrated, and a data source on it. */
async function migratedDatabase(): Promise<{ db: TestDatabase; dataSource: DataSource }> {
  const db = await createTestDatabase();
  await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
  const dataSource = await new DataSource(
    dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 2 }),
  ).initialize();
  return { db, dataSource };
}

describe('CandlesRepository', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let candles: CandlesRepository;

  beforeAll(async () => {
    ({ db, dataSource } = await migratedDatabase());
    candles = new CandlesRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource.destroy();
    await db.drop();
  });

  beforeEach(async () => {
    await db.query('TRUNCATE candles_1m');
  });

  const stored = (): Promise<Record<string, unknown>[]> =>
    db.query(
      `SELECT time, open, high, low, close, volume::int, oi::int, source, delta FROM candles_1m ORDER BY time`,
    );

  it('upserts history idempotently', async () => {
    const batch = [candle(0), candle(1, { close: 106 })];
    expect(await candles.upsertHistory(batch)).toBe(2);
    expect(await candles.upsertHistory(batch)).toBe(0); // unchanged rows are not rewritten
    expect(await stored()).toHaveLength(2);
  });

  it('lets history replace a stream bar but never the other way round', async () => {
    await candles.mergeStreamBars([candle(0, { close: 101, volume: 10 })]);
    await candles.upsertHistory([candle(0)]);
    expect(await stored()).toEqual([
      expect.objectContaining({ close: 105, volume: 1500, source: 'history' }),
    ]);
    expect(await candles.mergeStreamBars([candle(0, { close: 1, high: 999, volume: 5 })])).toBe(0);
    expect(await stored()).toEqual([
      expect.objectContaining({ close: 105, high: 110, volume: 1500, source: 'history' }),
    ]);
  });

  const levels = (): Promise<Record<string, unknown>[]> =>
    db.query(
      `SELECT close, volume::int, oi::int, iv, delta, gamma, theta, vega, underlying_close, source
         FROM candles_1m ORDER BY time`,
    );

  /** A minute as Kite's historical API answers it: OHLCV and OI, no greeks, no underlying level. */
  const kite = (minute: number, patch: Partial<Candle> = {}): Candle =>
    candle(minute, {
      iv: null,
      delta: null,
      gamma: null,
      theta: null,
      vega: null,
      underlyingClose: null,
      ...patch,
    });

  it('keeps the greeks and underlying level the stream stored where history has none', async () => {
    await candles.mergeStreamBars([candle(0, { close: 101, volume: 10, oi: 119000 })]);
    // A tail sweep through Kite: its OHLCV and OI are the minute's truth, its missing greeks are not.
    expect(await candles.upsertHistory([kite(0, { close: 104, volume: 1400, oi: 121000 })])).toBe(1);
    const expected = {
      close: 104,
      volume: 1400,
      oi: 121000,
      iv: 0.15,
      delta: 0.5,
      gamma: 0.001,
      theta: -10,
      vega: 9,
      underlying_close: 24500,
      source: 'history',
    };
    expect(await levels()).toEqual([expected]);
    // The next sweep answers the same: nothing to write, nothing lost.
    expect(await candles.upsertHistory([kite(0, { close: 104, volume: 1400, oi: 121000 })])).toBe(0);
    expect(await levels()).toEqual([expected]);
  });

  it('writes a refetch that brings greeks an earlier fetch lacked, and nothing for an identical one', async () => {
    expect(await candles.upsertHistory([kite(0), kite(1)])).toBe(2);
    // The ticker's history of the same minutes: the same OHLCV and OI, now with greeks.
    const withGreeks = [candle(0), candle(1, { iv: 0.16, underlyingClose: 24510 })];
    expect(await candles.upsertHistory(withGreeks)).toBe(2);
    expect(await levels()).toEqual([
      expect.objectContaining({ iv: 0.15, delta: 0.5, vega: 9, underlying_close: 24500 }),
      expect.objectContaining({ iv: 0.16, delta: 0.5, vega: 9, underlying_close: 24510 }),
    ]);
    expect(await candles.upsertHistory(withGreeks)).toBe(0);
    // A changed greek alone is a change.
    expect(await candles.upsertHistory([candle(1, { iv: 0.17, underlyingClose: 24510 })])).toBe(1);
    expect((await levels())[1]).toMatchObject({ iv: 0.17 });
  });

  it('removes the stream bars of minutes a history answer leaves empty inside its window, and nothing else', async () => {
    const at = (minute: number): Date => new Date(T0.getTime() + minute * 60_000);
    await candles.upsertHistory([candle(4, { close: 140 })]); // an earlier fetch of minute 4
    await candles.mergeStreamBars([0, 1, 2, 3, 5].map((m) => candle(m, { close: 200 + m, volume: 7 })));
    await candles.mergeStreamBars([candle(1, { instrumentToken: TOKEN + 1, close: 301 })]);
    // The answer for [0, 5): trades in minutes 0 and 2 only. Minute 5 is the one in progress, outside.
    const window = { instrumentToken: TOKEN, from: at(0), to: at(5) };
    expect(await candles.upsertHistory([candle(0), candle(2)], undefined, window)).toBe(4);
    const rows = await db.query<{ instrument_token: string; time: Date; close: number; source: string }>(
      `SELECT instrument_token, time, close, source FROM candles_1m ORDER BY instrument_token, time`,
    );
    expect(rows.map((r) => [Number(r.instrument_token), r.time.toISOString(), r.close, r.source])).toEqual([
      [TOKEN, at(0).toISOString(), 105, 'history'],
      [TOKEN, at(2).toISOString(), 105, 'history'],
      // History is never removed by a later answer that lacks it; only stream bars are.
      [TOKEN, at(4).toISOString(), 140, 'history'],
      [TOKEN, at(5).toISOString(), 205, 'stream'],
      [TOKEN + 1, at(1).toISOString(), 301, 'stream'],
    ]);
    // An empty answer ("no trade in the whole window") removes the stream bars it spans.
    expect(
      await candles.upsertHistory([], undefined, { instrumentToken: TOKEN, from: at(5), to: at(6) }),
    ).toBe(1);
    expect(
      await db.query(`SELECT 1 FROM candles_1m WHERE source = 'stream' AND instrument_token = $1`, [TOKEN]),
    ).toEqual([]);
    // Without a window nothing is removed.
    await candles.mergeStreamBars([candle(7, { volume: 3 })]);
    expect(await candles.upsertHistory([candle(8)])).toBe(1);
    expect(await db.query(`SELECT 1 FROM candles_1m WHERE source = 'stream'`)).toHaveLength(2);
  });

  it('writes the same full stream bar twice without change, so a retry or a replica never adds volume', async () => {
    const bar = candle(0, { open: 100, high: 104, low: 99, close: 103, volume: 40, delta: 0.5 });
    await candles.mergeStreamBars([bar]);
    const once = await stored();
    await candles.mergeStreamBars([bar]);
    await candles.mergeStreamBars([bar]);
    expect(await stored()).toEqual(once);
    expect(once).toEqual([
      expect.objectContaining({
        open: 100,
        high: 104,
        low: 99,
        close: 103,
        volume: 40,
        delta: 0.5,
        source: 'stream',
      }),
    ]);
  });

  it('replaces a stream minute with a later, fuller state of it', async () => {
    await candles.mergeStreamBars([
      candle(0, { open: 100, high: 104, low: 99, close: 103, volume: 40, delta: 0.5 }),
    ]);
    // The same minute after a late tick: the whole bar again, with the late tick folded in.
    await candles.mergeStreamBars([
      candle(0, { open: 100, high: 106, low: 98.5, close: 102, volume: 47, delta: null }),
    ]);
    expect(await stored()).toEqual([
      expect.objectContaining({
        open: 100,
        high: 106,
        low: 98.5,
        close: 102,
        volume: 47,
        delta: 0.5,
        source: 'stream',
      }),
    ]);
    // A replica that saw less of the minute (it connected late) neither lowers the volume nor
    // replaces the open of the more complete bar.
    await candles.mergeStreamBars([candle(0, { open: 103, high: 105, low: 101, close: 102, volume: 12 })]);
    expect(await stored()).toEqual([
      expect.objectContaining({ open: 100, high: 106, low: 98.5, close: 102, volume: 47 }),
    ]);
    // A fuller bar from a replica that saw the minute's first tick brings its open along.
    await candles.mergeStreamBars([candle(0, { open: 99, high: 106, low: 98.5, close: 102, volume: 52 })]);
    expect(await stored()).toEqual([expect.objectContaining({ open: 99, volume: 52, source: 'stream' })]);
  });

  it('writes a batch far beyond 65,535 bound parameters in one statement', async () => {
    const batch = Array.from({ length: 20_000 }, (_, i) => candle(i));
    expect(await candles.upsertHistory(batch)).toBe(20_000);
    const [{ count }] = await db.query<{ count: string }>('SELECT count(*) FROM candles_1m');
    expect(Number(count)).toBe(20_000);
  });
});
