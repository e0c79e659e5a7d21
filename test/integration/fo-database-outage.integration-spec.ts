import Redis from 'ioredis';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { FoBarBuilder } from '../../src/fo-stream/fo-bar.builder';
import { FoStreamFlusher } from '../../src/fo-stream/fo-stream.flusher';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator } from '../../simulator/simulator';
import { TestApp } from '../support/app-harness';
import { storedCandlesBetween } from '../support/candles';
import { createTestDatabase, TestDatabase } from '../support/database';
import { FoStreamRig, startFoStreamRig, tradedDerivativeTokens } from '../support/fo-stream';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

const START = Date.parse('2025-11-03T05:00:00Z');
const GRACE_MS = 200;
const MINUTES_BEFORE = 2;
const MINUTES_DURING = 4;

interface ReadyBody {
  status: string;
  info?: Record<string, Record<string, unknown>>;
  error?: Record<string, Record<string, unknown>>;
  details?: Record<string, Record<string, unknown>>;
}

// The issue asks for a 30 s database outage; the bar path is driven by the injected clock, so the
// same sequence (minutes closing and failing to write, retries backing off, newer states replacing
// waiting ones, recovery) is exercised here with an outage of a few seconds of real time and four
// clock minutes of ticks.
describe('FO stream with the database unreachable (TcpProxy cut) under a steady tick flow', () => {
  const clock = new FixedClock(new Date(START));
  let database: TestDatabase;
  let proxy: TcpProxy;
  let rig: FoStreamRig;
  let app: TestApp;
  let sim: RunningSimulator;
  let redis: Redis;
  let tokens: number[];

  const ready = async (): Promise<{ status: number; body: ReadyBody }> => {
    const response = await fetch(`${app.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as ReadyBody };
  };

  const publishMinute = async (m: number): Promise<void> => {
    const minute = START + m * MINUTE_MS;
    clock.set(new Date(minute + 59_000));
    for (const token of tokens) await sim.publishMinute(token, minute);
    clock.set(new Date(minute + MINUTE_MS + GRACE_MS + 1));
  };

  const storedMinutes = async (): Promise<number> => {
    const [row] = await database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM candles_1m WHERE time >= $1`,
      [new Date(START).toISOString()],
    );
    return row.n;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await TcpProxy.forUrl(database.url).start();
    rig = await startFoStreamRig({
      clock,
      graceMs: GRACE_MS,
      strikesEachSide: 2,
      app: { database, env: { DATABASE_URL: proxy.rewrite(database.url) } },
    });
    ({ app, sim, redis } = rig);
    tokens = tradedDerivativeTokens(sim);
  });

  afterAll(async () => {
    proxy?.restore();
    await rig?.close();
    await proxy?.stop();
    await database?.drop();
  });

  it('keeps receiving, bounds its backlog by instruments x minutes, and writes every minute after recovery', async () => {
    const flusher = app.app.get(FoStreamFlusher);
    const builder = app.app.get(FoBarBuilder);
    expect(tokens.length).toBeGreaterThanOrEqual(5);

    for (let m = 0; m < MINUTES_BEFORE; m++) await publishMinute(m);
    await waitFor(
      'minutes before the outage written',
      async () => (await storedMinutes()) === tokens.length * MINUTES_BEFORE,
    );

    proxy.cut();
    for (let m = MINUTES_BEFORE; m < MINUTES_BEFORE + MINUTES_DURING; m++) {
      await publishMinute(m);
      // A closed minute cannot be written: it waits, keyed by instrument and minute.
      await waitFor(
        `minute ${m} closed into the backlog`,
        () => flusher.backlog >= tokens.length * (m - MINUTES_BEFORE + 1),
      );
      expect(builder.openBars).toBeLessThanOrEqual(tokens.length);
      expect(flusher.backlog).toBeLessThanOrEqual(tokens.length * (m - MINUTES_BEFORE + 1));
    }
    // A repeated tick of the newest closed minute revises the retained bar: its full state replaces
    // the waiting one (no extra entry, no extra volume). The first outage minute closed longer ago
    // than the retention: its tick is refused and changes nothing.
    const newest = START + (MINUTES_BEFORE + MINUTES_DURING - 1) * MINUTE_MS;
    const repeated = sim.ticksFor(tokens[0], newest).at(-1)!;
    await redis.publish(sim.channels.options, JSON.stringify(repeated));
    const stale = sim.ticksFor(tokens[0], START + MINUTES_BEFORE * MINUTE_MS).at(-1)!;
    await redis.publish(sim.channels.options, JSON.stringify({ ...stale, volume: repeated.volume + 500 }));
    const metrics = app.app.get(MetricsService);
    await waitFor(
      'the stale tick refused',
      async () =>
        (await metrics.foTicksRejected.get()).values.find((v) => v.labels.reason === 'too_late')?.value === 1,
    );
    await waitFor('several failed write attempts', async () => {
      const { status, body } = await ready();
      const fo = body.details?.fo_stream;
      return status === 503 && Number(fo?.write_failures) >= 3 ? fo : false;
    });
    expect(flusher.backlog).toBe(tokens.length * MINUTES_DURING);
    const { body } = await ready();
    expect(body.details?.fo_stream).toMatchObject({
      status: 'up',
      backlog_bars: tokens.length * MINUTES_DURING,
    });
    expect(body.details?.database?.status).toBe('down');

    proxy.restore();
    await waitFor(
      'every minute written after the database returns',
      async () => (await storedMinutes()) === tokens.length * (MINUTES_BEFORE + MINUTES_DURING),
      { timeoutMs: 20_000 },
    );
    await waitFor('backlog drained', () => flusher.backlog === 0);
    expect(flusher.droppedBars).toBe(0);

    // Full-state writes, replaced states and retries neither lost nor double-counted anything: each
    // bar equals the candle.
    const rows = await storedCandlesBetween(database, START);
    for (const row of rows) {
      const expected = sim.candleFor(Number(row.instrument_token), row.time)!;
      expect([row.open, row.high, row.low, row.close, Number(row.volume), Number(row.oi)]).toEqual([
        expected.open,
        expected.high,
        expected.low,
        expected.close,
        expected.volume,
        expected.oi,
      ]);
    }
    const { status } = await ready();
    expect(status).toBe(200);
  });
});
