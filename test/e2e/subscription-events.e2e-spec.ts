import { Queue } from 'bullmq';
import request from 'supertest';
import { isPeriodicJob } from '../../src/backfill/periodic-jobs';
import { FixedClock } from '../../src/contracts/market-time';
import { SubscriptionEventsService } from '../../src/subscription-events/subscription-events.service';
import { SubscriptionEventsTransport } from '../../src/subscription-events/subscription-events.transport';
import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { RunningSimulator, startSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { settled, subscriptionCounter } from '../support/subscription-events';
import { waitFor } from '../support/wait-for';

// Monday 2025-11-03 11:30 IST, inside the session.
const NOW = '2025-11-03T06:00:00Z';

interface Row {
  instrument_token: string;
  status: string;
  source: string;
}

const env = (sim: RunningSimulator, extra: Record<string, string> = {}): Record<string, string> => ({
  SUBSCRIPTION_EVENTS_ENABLED: 'true',
  BACKFILL_ENABLED: 'true',
  BACKFILL_IMMEDIATE_ON_SUBSCRIBE: 'true',
  BACKFILL_INTERVAL_SECONDS: '86400',
  TICKER_SERVICE_URL: sim.url,
  ...extra,
});

/** A paused queue keeps every requested job waiting where the test can see it. */
async function pausedQueue(queuePrefix: string): Promise<Queue> {
  const queue = new Queue('backfill', { connection: { url: TEST_REDIS_URL }, prefix: queuePrefix });
  await queue.pause();
  return queue;
}

/**
 * These tests reconnect or recover moments after the boot reconciliation; the production gap between
 * two triggered reconciliations (10 s) would only stretch them to their deadlines.
 */
function shortenReconcileGap(app: TestApp): void {
  app.app.get(SubscriptionReconcilerService).minGapMs = 200;
}

const rows = (app: TestApp, tokens: number[]) =>
  app.database.query<Row>(
    'SELECT instrument_token, status, source FROM subscriptions WHERE instrument_token = ANY($1::bigint[]) ORDER BY instrument_token',
    [tokens],
  );

describe('subscription events end to end (simulator as the ticker)', () => {
  const clock = new FixedClock(NOW);
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function simulator(
    channelPrefix: string,
    knobs: Record<string, unknown> = {},
  ): Promise<RunningSimulator> {
    const sim = await startSimulator({
      redisUrl: TEST_REDIS_URL,
      channelPrefix,
      clock,
      liveTickIntervalMs: 0,
      knobs: { liveTicks: false, subscriptionsRatePerMin: 0, ...knobs },
    });
    cleanups.push(() => sim.stop());
    return sim;
  }

  it('outage: events published while the event connection is down are picked up by reconciliation after reconnect', async () => {
    const channelPrefix = `${uniqueName('so')}:nifty`;
    const sim = await simulator(channelPrefix);
    const proxy = await new TcpProxy('127.0.0.1', Number(new URL(TEST_REDIS_URL).port || 6379)).start();
    cleanups.push(() => proxy.stop());
    const app = await startTestApp({
      clock,
      channelPrefix,
      env: env(sim, { REDIS_URL: proxy.rewrite(TEST_REDIS_URL) }),
    });
    cleanups.push(() => app.close());
    shortenReconcileGap(app);
    const queue = await pausedQueue(app.queuePrefix);
    cleanups.push(() => queue.close());
    await settled(app, 15_000);
    const [first, ...missed] = sim.universe.instruments.slice(0, 5).map((i) => i.instrument_token);

    await sim.subscribe(first);
    await waitFor('event-path subscription', async () => (await rows(app, [first]))[0]?.source === 'event');

    const transport = app.app.get(SubscriptionEventsTransport);
    proxy.cut();
    await waitFor('event connection down', () => transport.connectionStatus !== 'connected');
    // The HTTP side keeps serving and stays in the Service (reads need the database only);
    // readiness says what is down.
    await request(app.url).get('/health/live').expect(200);
    const ready = await request(app.url).get('/health/ready').expect(200);
    expect(ready.body.details.subscription_events.status).toBe('down');

    // Published to Redis while we cannot hear: gone for us.
    for (const token of missed) await sim.subscribe(token);
    await sim.unsubscribe(first);
    const reconnectsBefore = await subscriptionCounter(app, 'reconciliations', {
      reason: 'reconnect',
      outcome: 'succeeded',
    });

    proxy.restore();
    await waitFor(
      'reconciliation after reconnect',
      async () =>
        (await subscriptionCounter(app, 'reconciliations', { reason: 'reconnect', outcome: 'succeeded' })) >
        reconnectsBefore,
      { timeoutMs: 15_000 },
    );
    const after = await rows(app, [first, ...missed]);
    expect(after).toEqual([
      ...[first, ...missed]
        .sort((a, b) => a - b)
        .map((token) =>
          token === first
            ? { instrument_token: String(token), status: 'inactive', source: 'event' }
            : { instrument_token: String(token), status: 'active', source: 'reconcile' },
        ),
    ]);
    // The reconciled instruments got their backfill (trigger reconcile); the events were never seen.
    const jobs = await app.database.query<{ instrument_token: string; trigger: string }>(
      'SELECT DISTINCT instrument_token, trigger FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[]) ORDER BY 1',
      [missed],
    );
    expect(jobs).toEqual(
      [...missed].sort((a, b) => a - b).map((t) => ({ instrument_token: String(t), trigger: 'reconcile' })),
    );
    expect(await subscriptionCounter(app, 'subscriptionEvents', { event_type: 'subscription_created' })).toBe(
      1,
    );

    // And the connection is live again: the next event goes the event path.
    const next = sim.universe.instruments[5].instrument_token;
    await sim.subscribe(next);
    await waitFor('event after reconnect', async () => (await rows(app, [next]))[0]?.source === 'event');
  }, 60_000);

  it('a killed pub/sub connection (CLIENT KILL) re-subscribes and reconciles', async () => {
    const channelPrefix = `${uniqueName('sk')}:nifty`;
    const sim = await simulator(channelPrefix);
    const app = await startTestApp({ clock, channelPrefix, env: env(sim) });
    cleanups.push(() => app.close());
    shortenReconcileGap(app);
    const queue = await pausedQueue(app.queuePrefix);
    cleanups.push(() => queue.close());
    await settled(app, 15_000);
    const redis = testRedis();
    cleanups.push(() => redis.disconnect());
    const name = `mds:events:${channelPrefix}`;
    const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const line = list.split('\n').find((entry) => entry.includes(` name=${name} `));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1];
    const before = await subscriptionCounter(app, 'reconciliations', {
      reason: 'reconnect',
      outcome: 'succeeded',
    });
    expect(await redis.call('CLIENT', 'KILL', 'ID', id)).toBe(1);
    await waitFor(
      'reconnect reconciliation',
      async () =>
        (await subscriptionCounter(app, 'reconciliations', { reason: 'reconnect', outcome: 'succeeded' })) >
        before,
    );
    await waitFor(
      're-subscribed',
      async () => (await redis.pubsub('NUMSUB', `${channelPrefix}:events`))[1] === 1,
    );
    const token = sim.universe.instruments[0].instrument_token;
    await sim.subscribe(token);
    await waitFor(
      'event processed after the kill',
      async () => (await rows(app, [token]))[0]?.source === 'event',
    );

    // The design note's shape from the same publisher: tradingsymbol at the top, subscription_deleted.
    sim.setKnobs({ eventShape: 'design-note' });
    const other = sim.universe.instruments[1];
    await sim.subscribe(other.instrument_token);
    await waitFor(
      'design-note created',
      async () => (await rows(app, [other.instrument_token]))[0]?.status === 'active',
    );
    const [instrument] = await app.database.query<{ tradingsymbol: string }>(
      'SELECT tradingsymbol FROM instruments WHERE instrument_token = $1',
      [other.instrument_token],
    );
    expect(instrument.tradingsymbol).toBe(other.tradingsymbol);
    await sim.unsubscribe(other.instrument_token);
    await waitFor(
      'design-note deletion processed',
      async () =>
        (await subscriptionCounter(app, 'subscriptionEvents', {
          event_type: 'subscription_deleted',
          outcome: 'processed',
        })) === 1,
    );
    expect((await rows(app, [other.instrument_token]))[0]?.status).toBe('inactive');
  }, 30_000);

  it('boots while Redis is unreachable, serves HTTP, and subscribes and reconciles once Redis is back', async () => {
    const channelPrefix = `${uniqueName('sd')}:nifty`;
    const sim = await simulator(channelPrefix);
    const tokens = sim.universe.instruments.slice(0, 3).map((i) => i.instrument_token);
    for (const token of tokens) await sim.subscribe(token);
    const proxy = await new TcpProxy('127.0.0.1', Number(new URL(TEST_REDIS_URL).port || 6379)).start();
    cleanups.push(() => proxy.stop());
    proxy.cut();
    const app = await startTestApp({
      clock,
      channelPrefix,
      // The backfill worker's own start waits for Redis; this test is about the event side.
      env: env(sim, { REDIS_URL: proxy.rewrite(TEST_REDIS_URL), BACKFILL_ENABLED: 'false' }),
    });
    cleanups.push(() => app.close());
    const ready = await request(app.url).get('/health/ready').expect(200);
    expect(ready.body.details.redis.status).toBe('down');
    proxy.restore();
    await settled(app, 15_000);
    await waitFor(
      'reconciled',
      async () => (await rows(app, tokens)).filter((r) => r.status === 'active').length === 3,
    );
    const token = sim.universe.instruments[3].instrument_token;
    await sim.subscribe(token);
    await waitFor('event processed', async () => (await rows(app, [token]))[0]?.source === 'event');
  }, 60_000);

  it('an event that cannot be written (database cut) is counted failed and recovered by reconciliation', async () => {
    const channelPrefix = `${uniqueName('sp')}:nifty`;
    const sim = await simulator(channelPrefix);
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const proxy = await TcpProxy.forUrl(database.url).start();
    cleanups.push(() => proxy.stop());
    const app = await startTestApp({
      clock,
      channelPrefix,
      database,
      env: env(sim, { DATABASE_URL: proxy.rewrite(database.url), BACKFILL_IMMEDIATE_ON_SUBSCRIBE: 'false' }),
    });
    cleanups.push(() => app.close());
    shortenReconcileGap(app);
    await settled(app, 15_000);
    const token = sim.universe.instruments[0].instrument_token;

    proxy.cut();
    await sim.subscribe(token);
    await waitFor(
      'event counted as failed',
      async () =>
        (await subscriptionCounter(app, 'subscriptionEvents', {
          event_type: 'subscription_created',
          outcome: 'failed',
        })) === 1,
    );
    proxy.restore();
    await waitFor(
      'recovered by reconciliation',
      async () => (await rows(app, [token]))[0]?.status === 'active',
      { timeoutMs: 20_000 },
    );
    expect((await rows(app, [token]))[0].source).toBe('reconcile');
    expect(
      await subscriptionCounter(app, 'reconciliations', { reason: 'recovery', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it('with events off in the simulator, one reconciliation cycle brings every subscription in, and garbage changes nothing', async () => {
    const channelPrefix = `${uniqueName('sr')}:nifty`;
    const sim = await simulator(channelPrefix, { eventsEnabled: false });
    const front = await startTickerFront(sim.url);
    cleanups.push(() => front.close());
    const app = await startTestApp({
      clock,
      channelPrefix,
      env: env(sim, { TICKER_SERVICE_URL: front.url }),
    });
    cleanups.push(() => app.close());
    const queue = await pausedQueue(app.queuePrefix);
    cleanups.push(() => queue.close());
    await settled(app, 15_000);
    const tokens = sim.universe.instruments.slice(0, 40).map((i) => i.instrument_token);
    for (const token of tokens) await sim.subscribe(token);
    const reconciler = app.app.get(SubscriptionReconcilerService);

    const cycle = await reconciler.reconcile('cycle');
    expect(cycle.complete).toBe(true);
    expect([...cycle.added].sort()).toEqual([...tokens].sort());
    expect((await rows(app, tokens)).every((r) => r.status === 'active' && r.source === 'reconcile')).toBe(
      true,
    );
    const [jobs] = await app.database.query<{ tokens: string; other: string }>(
      `SELECT count(DISTINCT instrument_token) AS tokens, count(*) FILTER (WHERE trigger <> 'reconcile') AS other
         FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])`,
      [tokens],
    );
    expect(jobs).toEqual({ tokens: '40', other: '0' });
    const listed = await request(app.url).get('/api/v1/subscriptions?status=active&limit=1000').expect(200);
    expect(listed.body.total).toBe(40);
    expect(listed.body.subscriptions[0].tradingsymbol).toEqual(expect.any(String));
    expect(listed.body.subscriptions[0].backfill).toMatchObject({ state: 'queued', trigger: 'reconcile' });

    for (const token of tokens.slice(0, 10)) await sim.unsubscribe(token);
    const second = await reconciler.reconcile('cycle');
    expect([...second.removed].sort()).toEqual(tokens.slice(0, 10).sort());
    expect(second.added).toEqual([]);

    // The ticker failing or answering garbage: logged, retried, nothing marked inactive.
    (app.app.get(SubscriptionReconcilerService) as SubscriptionReconcilerService).retryDelaysMs = [10, 10];
    sim.setKnobs({ fail502Rate: 1, faultRoutes: ['subscriptions'] });
    const failed = await reconciler.reconcile('cycle');
    expect(failed).toEqual({ reason: 'cycle', added: [], removed: [], complete: false });
    sim.setKnobs({ fail502Rate: 0 });
    for (const token of tokens.slice(10)) await sim.unsubscribe(token);
    front.garbage = true;
    const unreadable = await reconciler.reconcile('cycle');
    expect(unreadable.complete).toBe(false);
    expect((await rows(app, tokens.slice(10))).every((r) => r.status === 'active')).toBe(true);
  }, 60_000);

  it('three instances on one Redis and database: one subscription row and one job per event', async () => {
    const channelPrefix = `${uniqueName('s2')}:nifty`;
    const sim = await simulator(channelPrefix);
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const queuePrefix = uniqueName('q2');
    // Runs after both apps are closed: they share the prefixes, so neither deletes the keys itself.
    cleanups.push(async () => {
      const redis = testRedis();
      await deleteKeys(redis, queuePrefix);
      await deleteKeys(redis, channelPrefix);
      redis.disconnect();
    });
    const apps: TestApp[] = [];
    for (let i = 0; i < 3; i++) {
      const app = await startTestApp({ clock, channelPrefix, database, queuePrefix, env: env(sim) });
      cleanups.push(() => app.close());
      apps.push(app);
    }
    const queue = await pausedQueue(queuePrefix);
    cleanups.push(() => queue.close());
    for (const app of apps) await settled(app, 15_000);
    const tokens = sim.universe.instruments.slice(0, 5).map((i) => i.instrument_token);
    for (const token of tokens) await sim.subscribe(token);
    for (const app of apps)
      await waitFor(
        'every replica processed every event',
        async () =>
          (await subscriptionCounter(app, 'subscriptionEvents', {
            event_type: 'subscription_created',
            outcome: 'processed',
          })) === 5 && app.app.get(SubscriptionEventsService).idle,
      );
    const subscriptions = await database.query<{ n: string }>(
      'SELECT count(*) AS n FROM subscriptions WHERE instrument_token = ANY($1::bigint[])',
      [tokens],
    );
    expect(subscriptions).toEqual([{ n: '5' }]);
    const recorded = await database.query<{ id: string }>(
      'SELECT id FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[]) ORDER BY id',
      [tokens],
    );
    // The queue also holds the next runs of the periodic jobs, which are no backfill request.
    const queued = (
      await queue.getJobs(['paused', 'waiting', 'prioritized', 'delayed', 'active', 'completed'])
    )
      .filter((job) => !isPeriodicJob(job.name))
      .map((job) => job.id);
    expect(recorded.length).toBeGreaterThanOrEqual(5);
    expect(queued.sort()).toEqual(recorded.map((r) => r.id));
    // One window set per token: the same window never appears under two ids.
    const [windows] = await database.query<{ jobs: string; windows: string }>(
      `SELECT count(*) AS jobs, count(DISTINCT (instrument_token, window_from, window_to)) AS windows
         FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])`,
      [tokens],
    );
    expect(windows.jobs).toBe(windows.windows);
  }, 60_000);
});

/**
 * Stands in front of the simulator: forwards every request, or, with `garbage` set, answers 200 with
 * something that is not a subscription list.
 */
async function startTickerFront(
  target: string,
): Promise<{ url: string; garbage: boolean; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const front = {
    url: '',
    garbage: false,
    close: (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    if (front.garbage) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ instrument_token: 'many' }, { tradingsymbol: 'X' }]));
      return;
    }
    fetch(new URL(req.url ?? '/', target))
      .then(async (upstream) => {
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'text/plain',
        });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return front;
}
