import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { waitFor } from '../../test/support/wait-for';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../app.settings';
import { FixedClock, MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { CandlesRepository } from '../market-data/candles.repository';
import { InstrumentListService } from '../market-data/instrument-list.service';
import { InstrumentsRepository } from '../market-data/instruments.repository';
import { InstrumentsService } from '../market-data/instruments.service';
import { Candle, InstrumentInfo } from '../market-data/market-data.types';
import { MetricsService } from '../metrics/metrics.service';
import { FoBarBuilder } from './fo-bar.builder';
import { MAX_PENDING_BARS } from './fo-stream.constants';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoStreamHealthIndicator } from './fo-stream.health';
import { FoTick } from './fo-tick.parser';

/** The instruments' writer over a stand-in for its repository, without an instrument list. */
function instrumentsOver(
  repository: Pick<InstrumentsRepository, 'upsert'>,
  metrics: MetricsService,
): InstrumentsService {
  const config = new AppConfig();
  return new InstrumentsService(
    repository as InstrumentsRepository,
    new InstrumentListService(config, metrics, new FixedClock(new Date(0)), new SchedulerRegistry()),
    new MarketCalendar(),
    metrics,
  );
}

const MINUTE = Date.parse('2025-11-03T04:00:00Z');

function tick(token: number, atMs: number, price: number, dayVolume: number): FoTick {
  return {
    token,
    timeMs: atMs,
    price,
    dayVolume,
    oi: 100,
    greeks: { iv: null, delta: null, gamma: null, theta: null, vega: null },
    symbol: 'NIFTY',
    instrument: () => ({ instrumentToken: token }),
  };
}

/** A candles repository whose writes fail (as pg reports a refused connection) until `up` is set. */
class FlakyCandles {
  up = false;
  /** Commits the write but fails its reply (the connection drops after COMMIT). */
  loseReply = false;
  attempts = 0;
  readonly committed: Candle[] = [];
  mergeStreamBars(bars: readonly Candle[]): Promise<number> {
    this.attempts++;
    if (this.loseReply) {
      this.committed.push(...bars);
      return Promise.reject(new Error('Connection terminated unexpectedly'));
    }
    if (!this.up)
      return Promise.reject(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      );
    this.committed.push(...bars);
    return Promise.resolve(bars.length);
  }
}

/** What pg reports for a row the database refuses (a CHECK constraint, a value out of range). */
function dataError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A database that refuses every statement containing one of `refused`, with `refusal`. */
class PickyDatabase {
  refused = new Set<number>();
  refusal: [code: string, message: string] = ['23514', 'new row violates check constraint "poison"'];
  /** Fails every statement as a lost connection would, until cleared. */
  down = false;
  /** Fails every statement with this SQLSTATE (a deadlock, a timeout), until cleared. */
  failing?: string;
  statements = 0;
  readonly committed: Candle[] = [];
  readonly instruments: InstrumentInfo[] = [];
  mergeStreamBars(bars: readonly Candle[]): Promise<number> {
    return this.statement(bars, () => this.committed.push(...bars));
  }
  upsert(infos: readonly InstrumentInfo[]): Promise<void> {
    return this.statement(infos, () => this.instruments.push(...infos)).then(() => undefined);
  }
  private statement(rows: readonly { instrumentToken: number }[], commit: () => void): Promise<number> {
    this.statements++;
    if (this.down) return Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    if (this.failing) return Promise.reject(dataError(this.failing, `failed with ${this.failing}`));
    if (rows.some((row) => this.refused.has(row.instrumentToken)))
      return Promise.reject(dataError(...this.refusal));
    commit();
    return Promise.resolve(rows.length);
  }
}

describe('FoStreamFlusher', () => {
  const config = Object.assign(new AppConfig(), { FO_STREAM_ENABLED: true, FO_STREAM_FLUSH_GRACE_MS: 2000 });
  let clock: FixedClock;
  let builder: FoBarBuilder;
  let candles: FlakyCandles;
  let flusher: FoStreamFlusher;
  const readiness = () =>
    new FoStreamHealthIndicator(flusher, config, new HealthIndicatorService()).isHealthy('fo_stream');

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  beforeEach(() => {
    clock = new FixedClock(new Date(MINUTE + 30_000));
    builder = new FoBarBuilder();
    candles = new FlakyCandles();
    const metrics = new MetricsService();
    flusher = new FoStreamFlusher(
      builder,
      candles as unknown as CandlesRepository,
      instrumentsOver({ upsert: () => Promise.resolve() }, metrics),
      metrics,
      config,
      clock,
      new SchedulerRegistry(),
    );
  });

  it('writes a minute only once its grace has passed', async () => {
    builder.add(tick(1, MINUTE + 1000, 100, 0), false);
    clock.set(new Date(MINUTE + MINUTE_MS + 1999));
    await flusher.flushDue();
    expect(candles.attempts).toBe(0);
    clock.set(new Date(MINUTE + MINUTE_MS + 2000));
    candles.up = true;
    await flusher.flushDue();
    expect(candles.committed.map((c) => c.time.getTime())).toEqual([MINUTE]);
  });

  it('coalesces parts of a minute while the database is down and writes each minute once on return', async () => {
    for (const token of [1, 2, 3]) builder.add(tick(token, MINUTE + 1000, 100, 1000), false);
    clock.set(new Date(MINUTE + MINUTE_MS + 2000));
    await flusher.flushDue();
    expect(candles.attempts).toBe(1);
    expect(flusher.backlog).toBe(3);
    // A late tick revises token 1's retained minute: its full state replaces the waiting bar.
    builder.add(tick(1, MINUTE + 59_000, 120, 1300), false);
    await flusher.flushDue();
    expect(flusher.backlog).toBe(3);
    const check = readiness();
    expect(check).toMatchObject({ fo_stream: { status: 'up', backlog_bars: 3, write_failures: 1 } });

    candles.up = true;
    await waitFor('the backlog written', async () => {
      await flusher.flushDue();
      return flusher.backlog === 0;
    });
    expect(candles.committed).toHaveLength(3);
    const first = candles.committed.find((c) => c.instrumentToken === 1)!;
    expect(first).toMatchObject({ open: 100, high: 120, close: 120, volume: 300 });
  });

  it('retries a write whose reply was lost with the full bar, replaced by any newer state of the minute', async () => {
    builder.add(tick(1, MINUTE + 1000, 100, 1000), false);
    builder.add(tick(1, MINUTE + 20_000, 104, 1100), false);
    clock.set(new Date(MINUTE + MINUTE_MS + 2000));
    candles.loseReply = true;
    await flusher.flushDue();
    expect(flusher.backlog).toBe(1);
    // The minute is still retained: a late tick makes a newer full state, which replaces the retry.
    builder.add(tick(1, MINUTE + 59_000, 98, 1150), false);
    candles.loseReply = false;
    candles.up = true;
    await waitFor('the backlog written', async () => {
      await flusher.flushDue();
      return flusher.backlog === 0;
    });
    // Both writes carry the whole minute (volume 100, then 150), never the late part alone.
    expect(candles.committed.map((c) => [c.open, c.high, c.low, c.close, c.volume])).toEqual([
      [100, 104, 100, 104, 100],
      [100, 104, 98, 98, 150],
    ]);
    // Nothing more to write: the revision was taken once.
    await flusher.flushDue();
    expect(candles.committed).toHaveLength(2);
  });

  it('never holds more than its ceiling: the oldest minutes go, and readiness says so', async () => {
    const instruments = 4500;
    const minutes = Math.ceil(MAX_PENDING_BARS / instruments) + 2;
    for (let m = 0; m < minutes; m++) {
      for (let token = 1; token <= instruments; token++)
        builder.add(tick(token, MINUTE + m * MINUTE_MS + 1000, 100, m), false);
      clock.set(new Date(MINUTE + (m + 1) * MINUTE_MS + 2000));
      await flusher.flushDue();
      expect(flusher.backlog).toBeLessThanOrEqual(MAX_PENDING_BARS);
      expect(builder.openBars).toBeLessThanOrEqual(instruments);
    }
    expect(flusher.droppedBars).toBe(instruments * minutes - MAX_PENDING_BARS);
    const check = readiness();
    expect(check).toMatchObject({ fo_stream: { status: 'down', backlog_bars: MAX_PENDING_BARS } });

    // What survives is the newest minutes.
    candles.up = true;
    await waitFor(
      'the backlog written',
      async () => {
        await flusher.flushDue();
        return flusher.backlog === 0;
      },
      { timeoutMs: 20_000 },
    );
    const oldest = candles.committed.reduce((min, c) => Math.min(min, c.time.getTime()), Infinity);
    expect(oldest).toBeGreaterThan(MINUTE);
    expect(candles.committed).toHaveLength(MAX_PENDING_BARS);
  });

  describe('rows the database refuses for a data reason', () => {
    let db: PickyDatabase;
    let metrics: MetricsService;
    beforeEach(() => {
      db = new PickyDatabase();
      metrics = new MetricsService();
      flusher = new FoStreamFlusher(
        builder,
        db as unknown as CandlesRepository,
        instrumentsOver(db, metrics),
        metrics,
        config,
        clock,
        new SchedulerRegistry(),
      );
    });
    const parked = async (kind: string, reason = '23514'): Promise<number> =>
      (await metrics.foRowsParked.get()).values
        .filter((v) => v.labels.kind === kind && v.labels.reason === reason)
        .reduce((sum, v) => sum + v.value, 0);

    it('splits the batch, writes every other row and parks the refused ones, never retrying them', async () => {
      const tokens = Array.from({ length: 100 }, (_, i) => i + 1);
      for (const token of tokens) {
        builder.add(tick(token, MINUTE + 1000, 100, 0), false);
        flusher.register({ instrumentToken: token });
      }
      db.refused = new Set([7, 64]);
      clock.set(new Date(MINUTE + MINUTE_MS + 2000));
      await flusher.flushDue();
      const written = (rows: { instrumentToken: number }[]) =>
        rows.map((r) => r.instrumentToken).sort((a, b) => a - b);
      const others = tokens.filter((token) => !db.refused.has(token));
      expect(written(db.committed)).toEqual(others);
      expect(written(db.instruments)).toEqual(others);
      expect(await parked('bar')).toBe(2);
      expect(await parked('instrument')).toBe(2);
      expect(flusher.backlog).toBe(0);
      // Bisection, not a statement per row: two refused rows in 100 cost a few dozen statements.
      expect(db.statements).toBeLessThan(60);
      const check = readiness();
      expect(check).toMatchObject({
        fo_stream: {
          status: 'up',
          parked_rows: 4,
          write_failures: 0,
          last_parked: { kind: 'bar', sqlstate: '23514', time: new Date(MINUTE).toISOString() },
        },
      });
      const statements = db.statements;
      await flusher.flushDue();
      expect(db.statements).toBe(statements);
    });

    it('retries the whole batch on a connection failure, the refused rows split out once it is back', async () => {
      for (const token of [1, 2, 3]) builder.add(tick(token, MINUTE + 1000, 100, 0), false);
      db.refused = new Set([2]);
      db.down = true;
      clock.set(new Date(MINUTE + MINUTE_MS + 2000));
      await flusher.flushDue();
      // Nothing is parked for an outage: the whole batch waits.
      expect(db.statements).toBe(1);
      expect(flusher.backlog).toBe(3);
      expect(await parked('bar')).toBe(0);
      db.down = false;
      await waitFor('the backlog written', async () => {
        await flusher.flushDue();
        return flusher.backlog === 0;
      });
      expect(db.committed.map((c) => c.instrumentToken).sort()).toEqual([1, 3]);
      expect(await parked('bar')).toBe(1);
    });

    it('splits out the rows refused with an error of any other class too (a trigger raising P0001)', async () => {
      for (const token of [1, 2, 3, 4]) builder.add(tick(token, MINUTE + 1000, 100, 0), false);
      db.refused = new Set([3]);
      db.refusal = ['P0001', 'bar of 3 refused by a trigger'];
      clock.set(new Date(MINUTE + MINUTE_MS + 2000));
      await flusher.flushDue();
      expect(db.committed.map((c) => c.instrumentToken).sort()).toEqual([1, 2, 4]);
      expect(await parked('bar', 'P0001')).toBe(1);
      expect(flusher.backlog).toBe(0);
    });

    it.each([
      ['a deadlock between replicas', '40P01'],
      ['a statement timeout', '57014'],
      ['a full disk', '53100'],
    ])('retries the whole batch on %s, parking nothing', async (_what, code) => {
      for (const token of [1, 2, 3]) builder.add(tick(token, MINUTE + 1000, 100, 0), false);
      db.failing = code;
      clock.set(new Date(MINUTE + MINUTE_MS + 2000));
      await flusher.flushDue();
      expect(db.statements).toBe(1);
      expect(flusher.backlog).toBe(3);
      db.failing = undefined;
      await waitFor('the backlog written', async () => {
        await flusher.flushDue();
        return flusher.backlog === 0;
      });
      expect(db.committed.map((c) => c.instrumentToken).sort()).toEqual([1, 2, 3]);
      expect(await parked('bar', code)).toBe(0);
    });
  });
});
