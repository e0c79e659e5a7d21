import { Queue } from 'bullmq';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 16:30 IST, after the close: the probe asks for the last hour of the 26th.
const NOW = '2026-11-26T11:00:00.000Z';
const PROBE_TOKEN = 256265;

describe('periodic jobs on the backfill queue', () => {
  const clock = new FixedClock(NOW);
  const redis = testRedis();
  let stub: HistoryStub;

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS) }).start();
  });

  afterAll(async () => {
    await stub?.stop();
    redis.disconnect();
  });

  /** Replicas of one deployment: one database, one queue prefix. */
  async function deployment(count: number, env: Record<string, string>): Promise<TestApp[]> {
    const first = await startTestApp({
      clock,
      env: { BACKFILL_ENABLED: 'true', TICKER_SERVICE_URL: stub.url, ...env },
    });
    const apps = [first];
    for (let i = 1; i < count; i++)
      apps.push(
        await startTestApp({
          clock,
          database: first.database,
          queuePrefix: first.queuePrefix,
          env: { BACKFILL_ENABLED: 'true', TICKER_SERVICE_URL: stub.url, ...env },
        }),
      );
    return apps;
  }

  async function shutDown(apps: TestApp[]): Promise<void> {
    // The replicas share the first one's database and prefix: it drops them, last.
    for (const app of apps.slice(1)) await app.close();
    await apps[0]?.close();
    await deleteKeys(redis, apps[0].queuePrefix);
  }

  it("reads the ticker's subscription list once per period across three replicas, not once per replica", async () => {
    const periodS = 30;
    const bootedAt = Date.now();
    const apps = await deployment(3, { RECONCILE_INTERVAL_SECONDS: String(periodS) });
    try {
      // Each replica reads the list at boot; the periods are the deployment's.
      await waitFor('the three reads at boot', () => stub.subscriptionRequests >= 3);
      const afterBoot = stub.subscriptionRequests;
      await waitFor('two periods', () => stub.subscriptionRequests >= afterBoot + 2, {
        timeoutMs: 3 * periodS * 1000,
      });
      // A third of a period past the second period: still two reads, where each replica's own timer
      // made six.
      const until = bootedAt + (2 * periodS + 10) * 1000;
      await waitFor('a third of a period more', () => Date.now() >= until, {
        timeoutMs: until - Date.now() + 5000,
      });
      expect(stub.subscriptionRequests - afterBoot).toBe(2);

      const queue = new Queue(BACKFILL_QUEUE, {
        connection: redisOptionsFromUrl(TEST_REDIS_URL),
        prefix: apps[0].queuePrefix,
      });
      try {
        const schedulers = await queue.getJobSchedulers();
        expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual([
          ['backfill-cycle', apps[0].config.BACKFILL_INTERVAL_SECONDS * 1000],
          ['subscription-reconcile', periodS * 1000],
        ]);
      } finally {
        await queue.close();
      }
    } finally {
      await shutDown(apps);
    }
  }, 120_000);

  it('takes the ticker window probe as a job of the rate-limited queue', async () => {
    // One job per 4 s on the queue, a probe asked for every second: the limiter sets the pace.
    const apps = await deployment(1, {
      BACKFILL_RATE_LIMIT_PER_SECOND: '0.25',
      TICKER_WINDOW_SHIFT_MINUTES: '0',
      TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '1',
    });
    try {
      const probes = (): number[] => stub.requests.filter((r) => r.token === PROBE_TOKEN).map((r) => r.at);
      /** The start of each probe round: a round's requests follow each other within a second. */
      const rounds = (): number[] => probes().filter((at, i, all) => i === 0 || at - all[i - 1] > 1000);
      // The boot round is this replica's own; the four after it are jobs.
      await waitFor('four probe rounds after the boot round', () => rounds().length >= 5, {
        timeoutMs: 30_000,
      });
      const jobs = rounds().slice(1, 5);
      const gaps = jobs.slice(1).map((at, i) => at - jobs[i]);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(3500);
    } finally {
      await shutDown(apps);
    }
  }, 60_000);
  it('sets the schedulers up again when Redis comes back without them', async () => {
    const proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    const apps = await deployment(1, { REDIS_URL: proxy.rewrite(TEST_REDIS_URL) });
    const queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: apps[0].queuePrefix,
    });
    try {
      const schedulers = async (): Promise<string[]> =>
        (await queue.getJobSchedulers()).map((s) => s.key).sort();
      await waitFor('the schedulers upserted at boot', async () => (await schedulers()).length === 2);
      // Redis away, and back empty (a restart without persistence).
      proxy.cut();
      await deleteKeys(redis, apps[0].queuePrefix);
      proxy.restore();
      await waitFor('the schedulers upserted again', async () => (await schedulers()).length === 2, {
        timeoutMs: 30_000,
      });
      expect(await schedulers()).toEqual(['backfill-cycle', 'subscription-reconcile']);
    } finally {
      await queue.close();
      proxy.restore();
      await shutDown(apps);
      await proxy.stop();
    }
  }, 60_000);
});
