import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunningSimulator } from '../../simulator/simulator';
import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import { FixedClock, MINUTE_MS, floorToMinute, istDateOf } from '../../src/contracts/market-time';
import { verifyDatabase } from '../../scripts/verify-database';
import { startTestApp, TestApp } from '../support/app-harness';
import { recreateDatabase, TestDatabase } from '../support/database';
import { uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

/**
 * The whole service against the simulator, as the ticker team would drive it: every test instrument
 * subscribed through the ticker's REST API, history backfilled, live ticks folded into bars. The
 * database is left behind on purpose (`mds_verification`): CI runs TEST_QUERIES.sql against it
 * afterwards (`npm run verify:db`). Each run recreates it.
 */
export const VERIFICATION_DATABASE = 'mds_verification';

// The service subscribes everything on Tuesday 2025-11-04 after the close (15:40:20 IST), then runs
// its cycle on Thursday 2025-11-06 at 14:30:20 IST, a session in progress: the holiday on the 5th lies
// between two fetched windows, as it does in a deployment that runs across it.
const TUESDAY_AFTER_CLOSE = '2025-11-04T10:10:20.000Z';
const NOW = '2025-11-06T09:00:20.000Z';

interface TestInstruments {
  instruments: {
    instrument_token: number;
    tradingsymbol: string;
    liquidity: string;
    expiry: string | null;
  }[];
}

describe('the service end to end, leaving a database for TEST_QUERIES.sql', () => {
  const clock = new FixedClock(TUESDAY_AFTER_CLOSE);
  const instruments = (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'TEST_INSTRUMENTS.json'), 'utf8')) as TestInstruments
  ).instruments;
  const tokens = instruments.map((i) => i.instrument_token);
  // The weeklies of 4 November expire that Tuesday: Thursday's cycle leaves them out.
  const liveOnThursday = instruments
    .filter((i) => i.expiry === null || i.expiry >= istDateOf(new Date(NOW)))
    .map((i) => i.instrument_token);
  const channelPrefix = `${uniqueName('verify')}:nifty`;
  const queuePrefix = uniqueName('qverify');
  let database: TestDatabase;
  let sim: RunningSimulator;
  let app: TestApp;

  beforeAll(async () => {
    database = await recreateDatabase(VERIFICATION_DATABASE);
    sim = await startHistorySimulator(channelPrefix, clock);
    app = await startTestApp({
      clock,
      database,
      channelPrefix,
      queuePrefix,
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        FO_STREAM_ENABLED: 'true',
        FO_STREAM_FLUSH_GRACE_MS: '500',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '50',
        BACKFILL_CONCURRENCY: '4',
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
    const redis = testRedis();
    try {
      await deleteKeys(redis, queuePrefix);
    } finally {
      redis.disconnect();
    }
  });

  // Two backfill rounds and a streamed minute, each with its own deadline: the test's bound covers them.
  it('subscribes every test instrument, fills its history, streams its bars, and passes every check', async () => {
    for (const token of tokens) await sim.subscribe(token);

    await waitFor(
      'every test instrument backfilled with its lookback',
      async () => {
        const rows = await database.query<{ instrument_token: string; jobs: string; open_jobs: string }>(
          `SELECT s.instrument_token, count(j.*) AS jobs,
                  count(j.*) FILTER (WHERE j.state NOT IN ('succeeded', 'skipped')) AS open_jobs
             FROM subscriptions s LEFT JOIN backfill_jobs j USING (instrument_token)
            WHERE s.status = 'active' GROUP BY s.instrument_token`,
        );
        return (
          rows.length === tokens.length && rows.every((r) => Number(r.jobs) > 0 && Number(r.open_jobs) === 0)
        );
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    // Thursday: the scheduled cycle fetches the day so far for every instrument.
    clock.set(NOW);
    await app.app.get(BackfillScheduler).runCycle();
    const thursdayJobs = () =>
      database.query<{ instrument_token: string; open_jobs: string }>(
        `SELECT s.instrument_token,
                count(j.*) FILTER (WHERE j.state NOT IN ('succeeded', 'skipped')) AS open_jobs
           FROM subscriptions s
           JOIN backfill_jobs j ON j.instrument_token = s.instrument_token AND j.window_from >= $1
          WHERE s.status = 'active' GROUP BY s.instrument_token`,
        ['2025-11-06T03:45:00Z'],
      );
    expect(liveOnThursday.length).toBeGreaterThan(0);
    expect(liveOnThursday.length).toBeLessThan(tokens.length);
    await waitFor(
      'every contract still listed on Thursday fetched that day',
      async () => {
        const rows = await thursdayJobs();
        return rows.length === liveOnThursday.length && rows.every((r) => Number(r.open_jobs) === 0);
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect((await thursdayJobs()).map((r) => Number(r.instrument_token)).sort((a, b) => a - b)).toEqual(
      [...liveOnThursday].sort((a, b) => a - b),
    );
    const [{ spanning }] = await database.query<{ spanning: string }>(
      `SELECT count(*) AS spanning FROM backfill_coverage
        WHERE covered_from < '2025-11-05T03:45:00Z' AND covered_to > '2025-11-05T10:00:00Z'`,
    );
    expect(Number(spanning)).toBe(0);

    // The next minute arrives only as live ticks: its bars come from the stream, written once the
    // clock passes the minute's end and the grace.
    const minute = new Date(floorToMinute(clock.now()).getTime() + MINUTE_MS);
    clock.set(new Date(minute.getTime() + 5_000));
    for (const token of tokens) await sim.publishMinute(token, minute);
    clock.set(new Date(minute.getTime() + MINUTE_MS + 1000));
    const traded = tokens.filter((token) => sim.candleFor(token, minute) !== undefined);
    await waitFor(
      'the streamed minute written for every instrument that traded in it',
      async () => {
        const [{ n }] = await database.query<{ n: string }>(
          `SELECT count(*) AS n FROM candles_1m WHERE time = $1 AND source = 'stream'`,
          [minute],
        );
        return Number(n) === traded.length;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(traded.length).toBeGreaterThan(tokens.length / 2);
    const [bar] = await database.query<{
      open: number;
      high: number;
      low: number;
      close: number;
      volume: string;
    }>(`SELECT open, high, low, close, volume FROM candles_1m WHERE instrument_token = $1 AND time = $2`, [
      traded[0],
      minute,
    ]);
    const expected = sim.candleFor(traded[0], minute)!;
    expect([bar.open, bar.high, bar.low, bar.close, Number(bar.volume)]).toEqual([
      expected.open,
      expected.high,
      expected.low,
      expected.close,
      expected.volume,
    ]);

    const response = await fetch(
      `${app.url}/api/v1/instruments/${tokens[1]}/candles?from=2025-11-04T03:45:00Z&to=2025-11-04T04:45:00Z&interval=5m`,
    );
    // Parsed here rather than by fetch: jest's matchers do not recognise arrays built in another realm.
    const body = JSON.parse(await response.text()) as {
      instrument_token: number;
      interval: string;
      candles: unknown[];
    };
    expect(response.status).toBe(200);
    expect(body.instrument_token).toBe(tokens[1]);
    expect(body.interval).toBe('5m');
    expect(body.candles).toHaveLength(12);

    const results = await verifyDatabase(database.url);
    const unhealthy = results
      .filter((r) => !r.healthy)
      .map((r) => ({ check: r.name, rows: r.rows.slice(0, 3) }));
    expect(unhealthy).toEqual([]);
    expect(results.find((r) => r.name === 'backfill_jobs_by_trigger')!.rows.length).toBeGreaterThan(0);
  }, 150_000);
});
