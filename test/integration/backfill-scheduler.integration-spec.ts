import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import {
  DEFAULT_NSE_HOLIDAYS,
  FixedClock,
  MarketCalendar,
  parseUpstreamTime,
} from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 16:30 IST, after the close: two sessions of lookback (25th and 26th), nothing forming.
const NOW = '2026-11-26T11:00:00.000Z';
const FROM = new Date('2026-11-25T03:45:00.000Z');
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

describe('backfill scheduler', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let app: TestApp;
  const redis = testRedis();

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    BACKFILL_ENABLED: 'true',
    TICKER_SERVICE_URL: stub.url,
    BACKFILL_RATE_LIMIT_PER_SECOND: '20',
    BACKFILL_CONCURRENCY: '4',
    BACKFILL_LOOKBACK_SESSIONS: '2',
    BACKFILL_INTERVAL_SECONDS: '86400',
    ...extra,
  });

  async function subscribe(tokens: number[], status: 'active' | 'inactive' = 'active'): Promise<void> {
    await app.database.query(`INSERT INTO instruments (instrument_token) SELECT unnest($1::bigint[])`, [
      tokens,
    ]);
    await app.database.query(
      `INSERT INTO subscriptions (instrument_token, status, source) SELECT unnest($1::bigint[]), $2, 'event'`,
      [tokens, status],
    );
  }

  async function settled(): Promise<void> {
    await waitFor('no job queued or running', async () => {
      const rows = await app.database.query(
        `SELECT 1 FROM backfill_jobs WHERE state IN ('queued', 'running')`,
      );
      return rows.length === 0;
    });
  }

  async function expectComplete(token: number): Promise<void> {
    const rows = await app.database.query<{ time: Date; close: number }>(
      `SELECT time, close FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
      [token],
    );
    expect(rows.map((row) => [new Date(row.time).toISOString(), row.close])).toEqual(
      stub.expected(token, FROM, clock.now()).map((c) => [parseUpstreamTime(c.date).toISOString(), c.close]),
    );
  }

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar }).start();
    app = await startTestApp({ clock, env: env() });
    await subscribe([701, 702, 703]);
    await subscribe([704], 'inactive');
    // The ticker agrees, so the reconciliation at boot changes nothing.
    stub.subscriptions = [701, 702, 703];
  });

  afterAll(async () => {
    await app?.close();
    await stub?.stop();
    redis.disconnect();
  });

  it('fills active subscriptions, refills punched gaps, and leaves empty minutes alone', async () => {
    const scheduler = app.app.get(BackfillScheduler);
    await waitFor('the reconciliation at boot', () => stub.subscriptionRequests > 0);
    const reconciliations = stub.subscriptionRequests;
    const first = await scheduler.runCycle();
    // The cycle works from the subscriptions as recorded; reading the ticker's list is the
    // reconciler's, on its own period.
    expect(stub.subscriptionRequests).toBe(reconciliations);
    expect(first).toMatchObject({ ran: true, jobsEnqueued: 3 });
    await settled();
    for (const token of [701, 702, 703]) await expectComplete(token);
    expect(stub.requests.map((r) => r.token).sort()).toEqual([701, 702, 703]);

    await app.database.query(
      `DELETE FROM candles_1m WHERE instrument_token = 702 AND time >= '2026-11-26T05:00:00Z' AND time < '2026-11-26T05:20:00Z'`,
    );
    const second = await scheduler.runCycle();
    expect(second).toMatchObject({ ran: true, jobsEnqueued: 1 });
    await settled();
    await expectComplete(702);
    expect(stub.requests.filter((r) => r.token === 702)).toHaveLength(2);

    // Every minute is stored or covered as empty (1 in 13 minutes has no trade): nothing to fetch.
    const third = await scheduler.runCycle();
    expect(third).toMatchObject({ ran: true, jobsEnqueued: 0 });
    expect(stub.requests).toHaveLength(4);
    // The refill merged into the range it repaired: one coverage row, as before the holes.
    const rows = await app.database.query<{ covered_from: Date; covered_to: Date }>(
      `SELECT covered_from, covered_to FROM backfill_coverage WHERE instrument_token = 702`,
    );
    expect(
      rows.map((r) => [new Date(r.covered_from).toISOString(), new Date(r.covered_to).toISOString()]),
    ).toEqual([[FROM.toISOString(), '2026-11-26T10:00:00.000Z']]);
  });

  it('runs one cycle per period across two replicas', async () => {
    // Both replicas upsert the same job scheduler; BullMQ hands each period's job to one of them.
    const queuePrefix = uniqueName('q');
    const periodS = 10;
    const replicas = [
      await startTestApp({
        clock,
        env: env({ BACKFILL_INTERVAL_SECONDS: String(periodS) }),
        database: app.database,
        queuePrefix,
      }),
      await startTestApp({
        clock,
        env: env({ BACKFILL_INTERVAL_SECONDS: String(periodS) }),
        database: app.database,
        queuePrefix,
      }),
    ];
    const started = Date.now();
    try {
      const cycles = replicas.map((replica) => jest.spyOn(replica.app.get(BackfillScheduler), 'runCycle'));
      const total = (): number => cycles.reduce((sum, spy) => sum + spy.mock.calls.length, 0);
      await waitFor('two periods', () => total() >= 2, { timeoutMs: 3 * periodS * 1000 });
      // Half a period past the second: still two cycles, not one per replica per period.
      await waitFor('half a period more', () => Date.now() - started >= 2.5 * periodS * 1000, {
        timeoutMs: 3 * periodS * 1000,
      });
      expect(total()).toBe(2);
      const results = await Promise.all(
        cycles.flatMap((spy) => spy.mock.results.map((r) => r.value as Promise<{ ran: boolean }>)),
      );
      expect(results.map((r) => r.ran)).toEqual([true, true]);
    } finally {
      for (const replica of replicas) await replica.close();
      await deleteKeys(redis, queuePrefix);
    }
  }, 60_000);

  it('enqueues no more than rate x interval per cycle, stalest instruments first', async () => {
    await subscribe([705, 706, 707]);
    stub.subscriptions = [701, 702, 703, 705, 706, 707];
    const queuePrefix = uniqueName('q');
    // 0.2 requests/s for 10 s: two requests per cycle.
    const small = await startTestApp({
      clock,
      database: app.database,
      queuePrefix,
      env: env({ BACKFILL_RATE_LIMIT_PER_SECOND: '0.2', BACKFILL_INTERVAL_SECONDS: '10' }),
    });
    try {
      const result = await small.app.get(BackfillScheduler).runCycle();
      expect(result).toMatchObject({ ran: true, budget: 2, jobsEnqueued: 2 });
      const rows = await app.database.query<{ instrument_token: string }>(
        `SELECT instrument_token FROM backfill_jobs WHERE trigger = 'sweep' AND instrument_token >= 705 ORDER BY 1`,
      );
      expect(rows.map((row) => Number(row.instrument_token))).toEqual([705, 706]);
      // Instruments with work pending are left to it: the next cycle may add 707, never 705 or 706 again.
      expect(await small.app.get(BackfillScheduler).runCycle()).toMatchObject({ ran: true });
      const after = await app.database.query<{ instrument_token: string; n: string }>(
        `SELECT instrument_token, count(*) AS n FROM backfill_jobs
          WHERE trigger = 'sweep' AND instrument_token >= 705 GROUP BY 1 ORDER BY 1`,
      );
      expect(after.filter((row) => Number(row.instrument_token) !== 707)).toEqual([
        { instrument_token: '705', n: '1' },
        { instrument_token: '706', n: '1' },
      ]);
    } finally {
      await small.close();
      await deleteKeys(redis, queuePrefix);
    }
  });

  it('looks after every known instrument when not subscription-aware', async () => {
    const queuePrefix = uniqueName('q');
    const everything = await startTestApp({
      clock,
      database: app.database,
      queuePrefix,
      env: env({ BACKFILL_SUBSCRIPTION_AWARE: 'false' }),
    });
    try {
      expect(await everything.app.get(BackfillScheduler).runCycle()).toMatchObject({ ran: true });
      // 704's subscription is inactive: only the instrument list brings it in.
      const rows = await app.database.query(
        `SELECT 1 FROM backfill_jobs WHERE trigger = 'sweep' AND instrument_token = 704`,
      );
      expect(rows).toHaveLength(1);
    } finally {
      await everything.close();
      await deleteKeys(redis, queuePrefix);
    }
  });
});
