import { Queue } from 'bullmq';
import Redis from 'ioredis';
import request from 'supertest';
import { FixedClock } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
import { SubscriptionEventsService } from '../../src/subscription-events/subscription-events.service';
import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { testRedis } from '../support/redis';
import { settled, subscriptionCounter } from '../support/subscription-events';
import { waitFor } from '../support/wait-for';

// Monday 2025-11-03 11:30 IST, inside the session: the backfill has a lookback to plan.
const NOW = '2025-11-03T06:00:00Z';

// The design note's own check, byte for byte (its `redis-cli PUBLISH ticker:nifty:events '{...}'`).
const DESIGN_NOTE_PAYLOAD = `{
  "event_type": "subscription_created",
  "instrument_token": 13660418,
  "tradingsymbol": "NIFTY25NOV24500CE",
  "timestamp": 1730462400,
  "metadata": {"account_id": "primary", "requested_mode": "FULL"}
}`;

interface SubscriptionRow {
  instrument_token: string;
  status: string;
  requested_mode: string | null;
  account_id: string | null;
  source: string;
}

const eventCount = (app: TestApp, eventType: string, outcome: string): Promise<number> =>
  subscriptionCounter(app, 'subscriptionEvents', { event_type: eventType, outcome });

describe('subscription events (real Redis, database and queue)', () => {
  let ticker: Server;
  let app: TestApp;
  let redis: Redis;
  let queue: Queue;
  const clock = new FixedClock(NOW);
  const channelPrefix = `${uniqueName('se')}:nifty`;
  const channel = `${channelPrefix}:events`;

  beforeAll(async () => {
    // The ticker's list agrees with nothing published here, so no reconciliation may run during
    // these tests: none does, as the event connection stays up and the period is a day away.
    ticker = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]'),
    );
    await new Promise<void>((resolve) => ticker.listen(0, '127.0.0.1', resolve));
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        BACKFILL_IMMEDIATE_ON_SUBSCRIBE: 'true',
        BACKFILL_INTERVAL_SECONDS: '86400',
        SUBSCRIPTION_EVENT_MAX_BYTES: '8192',
        TICKER_SERVICE_URL: `http://127.0.0.1:${(ticker.address() as AddressInfo).port}`,
      },
    });
    redis = testRedis();
    // The worker is not under test here: a paused queue keeps every requested job waiting, visible.
    queue = new Queue('backfill', { connection: { url: TEST_REDIS_URL }, prefix: app.queuePrefix });
    await queue.pause();
    await settled(app);
  }, 30_000);

  afterAll(async () => {
    redis?.disconnect();
    await queue?.close();
    await app?.close();
    await new Promise<void>((resolve) => (ticker ? ticker.close(() => resolve()) : resolve()));
  });

  const subscription = async (token: number): Promise<SubscriptionRow | undefined> =>
    (
      await app.database.query<SubscriptionRow>(
        'SELECT instrument_token, status, requested_mode, account_id, source FROM subscriptions WHERE instrument_token = $1',
        [token],
      )
    )[0];
  const jobs = (token: number) =>
    app.database.query<{ id: string; trigger: string; state: string; requested_at: Date }>(
      'SELECT id, trigger, state, requested_at FROM backfill_jobs WHERE instrument_token = $1 ORDER BY id',
      [token],
    );

  it("records the design note's own PUBLISH and requests the backfill through the queue", async () => {
    await redis.publish(channel, DESIGN_NOTE_PAYLOAD);
    const row = await waitFor('subscription recorded', () => subscription(13660418));
    expect(row).toEqual({
      instrument_token: '13660418',
      status: 'active',
      requested_mode: 'FULL',
      account_id: 'primary',
      source: 'event',
    });
    const instrument = await app.database.query<{ tradingsymbol: string }>(
      'SELECT tradingsymbol FROM instruments WHERE instrument_token = 13660418',
    );
    expect(instrument).toEqual([{ tradingsymbol: 'NIFTY25NOV24500CE' }]);
    const requested = await waitFor('backfill job recorded', async () => {
      const rows = await jobs(13660418);
      return rows.length > 0 && rows;
    });
    for (const job of requested) {
      expect(job.trigger).toBe('event');
      // The arrival time (the service's clock), the start of the time-to-data measurement.
      expect(new Date(job.requested_at).toISOString()).toBe(new Date(NOW).toISOString());
      expect(job.id).toMatch(/^bf-13660418-/);
    }
    // The same jobs are in the queue itself.
    const queued = (await queue.getJobs(['paused', 'waiting', 'prioritized', 'delayed'])).filter((job) =>
      job.id?.startsWith('bf-13660418-'),
    );
    expect(queued.map((job) => job.id).sort()).toEqual(requested.map((job) => job.id));
    expect(queued.every((job) => job.data.trigger === 'event')).toBe(true);
    expect(await eventCount(app, 'subscription_created', 'processed')).toBeGreaterThanOrEqual(1);
  });

  it('accepts the ticker shape with tradingsymbol in metadata and a null account', async () => {
    await redis.publish(
      channel,
      JSON.stringify({
        event_type: 'subscription_created',
        instrument_token: 20001,
        metadata: {
          tradingsymbol: 'NIFTY25NOV25000PE',
          segment: 'NFO-OPT',
          requested_mode: 'QUOTE',
          account_id: null,
        },
        timestamp: 1730462400,
      }),
    );
    const row = await waitFor('subscription recorded', () => subscription(20001));
    expect(row).toMatchObject({ status: 'active', requested_mode: 'QUOTE', account_id: null });
    const [instrument] = await app.database.query<{
      tradingsymbol: string;
      segment: string;
      exchange: string;
    }>('SELECT tradingsymbol, segment, exchange FROM instruments WHERE instrument_token = 20001');
    expect(instrument).toEqual({ tradingsymbol: 'NIFTY25NOV25000PE', segment: 'NFO-OPT', exchange: 'NFO' });
  });

  it('removes on subscription_removed and subscription_deleted: inactive, waiting jobs dropped, data kept', async () => {
    for (const token of [20011, 20012]) {
      await redis.publish(
        channel,
        JSON.stringify({ event_type: 'subscription_created', instrument_token: token }),
      );
      await waitFor('jobs queued', async () => (await jobs(token)).length > 0);
    }
    await app.database.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, source)
       VALUES (20011, '2025-11-03T04:00:00Z', 1, 1, 1, 1, 0, 'history')`,
    );
    await redis.publish(
      channel,
      JSON.stringify({ event_type: 'subscription_removed', instrument_token: 20011, metadata: {} }),
    );
    await redis.publish(
      channel,
      JSON.stringify({ event_type: 'subscription_deleted', instrument_token: 20012 }),
    );
    for (const token of [20011, 20012]) {
      await waitFor('subscription inactive', async () => (await subscription(token))?.status === 'inactive');
      const states = await waitFor('jobs cancelled', async () => {
        const rows = await jobs(token);
        return rows.every((job) => job.state === 'cancelled') && rows;
      });
      expect(states.length).toBeGreaterThan(0);
      const left = (await queue.getJobs(['paused', 'waiting', 'prioritized', 'delayed'])).filter((job) =>
        job.id?.startsWith(`bf-${token}-`),
      );
      expect(left).toEqual([]);
    }
    const kept = await app.database.query('SELECT 1 FROM candles_1m WHERE instrument_token = 20011');
    expect(kept).toHaveLength(1);
    await waitFor(
      'deletion counted',
      async () => (await eventCount(app, 'subscription_deleted', 'processed')) === 1,
    );
    // A removal of a token never seen is counted as ignored, not recorded.
    await redis.publish(
      channel,
      JSON.stringify({ event_type: 'subscription_removed', instrument_token: 99999 }),
    );
    await waitFor('ignored', async () => (await eventCount(app, 'subscription_removed', 'ignored')) === 1);
    expect(await subscription(99999)).toBeUndefined();
  });

  it('ends a subscribe, unsubscribe, subscribe burst of one token subscribed with its jobs waiting, and the reverse without any', async () => {
    const created = (token: number) =>
      JSON.stringify({ event_type: 'subscription_created', instrument_token: token });
    const removed = (token: number) =>
      JSON.stringify({ event_type: 'subscription_removed', instrument_token: token });
    const events = app.app.get(SubscriptionEventsService);
    // One pipeline: the events arrive together and share a batch (the last one of each token decides).
    const together = redis.pipeline();
    for (const payload of [created(20101), removed(20101), created(20101)])
      together.publish(channel, payload);
    for (const payload of [created(20102), removed(20102), created(20102), removed(20102)])
      together.publish(channel, payload);
    await together.exec();
    // One at a time: each event is recorded (its batch's queue work still under way) before the next
    // is published, so the requests and the drops of waiting jobs are ordered across batches.
    const sequence: Array<[number, 'active' | 'inactive', string]> = [
      [20103, 'active', created(20103)],
      [20103, 'inactive', removed(20103)],
      [20103, 'active', created(20103)],
      [20104, 'active', created(20104)],
      [20104, 'inactive', removed(20104)],
      [20104, 'active', created(20104)],
      [20104, 'inactive', removed(20104)],
    ];
    for (const [token, status, payload] of sequence) {
      await redis.publish(channel, payload);
      await waitFor(`${token} ${status}`, async () => (await subscription(token))?.status === status);
    }
    await waitFor('every event applied and its queue work done', () => events.idle);
    const waiting = async (token: number) =>
      (await queue.getJobs(['paused', 'waiting', 'prioritized', 'delayed'])).filter((job) =>
        job.id?.startsWith(`bf-${token}-`),
      );
    for (const token of [20101, 20103]) {
      expect((await subscription(token))?.status).toBe('active');
      const records = await jobs(token);
      expect(records.length).toBeGreaterThan(0);
      expect(records.map((job) => job.state)).toEqual(records.map(() => 'queued'));
      expect((await waiting(token)).map((job) => job.id).sort()).toEqual(records.map((job) => job.id));
    }
    // 20102's batch ended with a removal of a token never recorded: nothing to record. 20104 was.
    expect(await subscription(20102)).toBeUndefined();
    expect((await subscription(20104))?.status).toBe('inactive');
    for (const token of [20102, 20104]) {
      expect(await waiting(token)).toEqual([]);
      expect((await jobs(token)).filter((job) => job.state === 'queued')).toEqual([]);
    }
  });

  const bad: Array<[string, string, string]> = [
    ['invalid JSON', '{"event_type":"subscription_created",', 'unknown'],
    ['a raw string', 'subscription_created 13660418', 'unknown'],
    ['a JSON string', '"subscription_created"', 'unknown'],
    ['a missing token', '{"event_type":"subscription_created"}', 'subscription_created'],
    ['a zero token', '{"event_type":"subscription_created","instrument_token":0}', 'subscription_created'],
    [
      'a negative token',
      '{"event_type":"subscription_removed","instrument_token":-1}',
      'subscription_removed',
    ],
    [
      'a fractional token',
      '{"event_type":"subscription_created","instrument_token":2.5}',
      'subscription_created',
    ],
    ['an unknown event_type', '{"event_type":"subscription_paused","instrument_token":1}', 'unknown'],
    [
      'wrong types',
      '{"event_type":"subscription_created","instrument_token":"30001","tradingsymbol":7}',
      'subscription_created',
    ],
    [
      'an oversized payload',
      JSON.stringify({ event_type: 'subscription_created', instrument_token: 1, pad: 'x'.repeat(9000) }),
      'unknown',
    ],
    [
      'a 4 KB payload nested 2,000 arrays deep in an unknown field',
      `{"event_type":"subscription_created","instrument_token":1,"junk":${'['.repeat(2000)}${']'.repeat(2000)}}`,
      'subscription_created',
    ],
    [
      "Nest's envelope",
      JSON.stringify({
        pattern: 'subscription-events',
        data: { event_type: 'subscription_created', instrument_token: 1 },
      }),
      'unknown',
    ],
  ];
  it.each(bad.map((entry, index) => [...entry, 30100 + index] as const))(
    'rejects %s with a count and processes the next valid event',
    async (_name, payload, label, nextToken) => {
      const before = await eventCount(app, label, 'rejected');
      await redis.publish(channel, payload);
      await redis.publish(
        channel,
        JSON.stringify({ event_type: 'subscription_created', instrument_token: nextToken }),
      );
      await waitFor('next event recorded', () => subscription(nextToken));
      expect(await eventCount(app, label, 'rejected')).toBe(before + 1);
    },
  );

  it('accounts for every one of a burst of 4,500 created events (three Kite accounts at capacity): none lost, none doubled', async () => {
    const tokens = Array.from({ length: 4500 }, (_, i) => 5_000_001 + i);
    const events = app.app.get(SubscriptionEventsService);
    await waitFor('earlier events applied and counted', () => events.idle);
    const before = await eventCount(app, 'subscription_created', 'processed');
    const pipeline = redis.pipeline();
    tokens.forEach((token, i) =>
      pipeline.publish(
        channel,
        JSON.stringify({
          event_type: 'subscription_created',
          instrument_token: token,
          metadata: {
            tradingsymbol: `SYM${token}`,
            segment: 'NFO-OPT',
            requested_mode: 'FULL',
            account_id: `acct${i % 3}`,
          },
          timestamp: 1730462400,
        }),
      ),
    );
    const published = await pipeline.exec();
    // Every PUBLISH reached exactly one subscriber: this service's event connection.
    expect(published?.every(([error, receivers]) => error === null && receivers === 1)).toBe(true);
    await waitFor(
      'every event processed',
      async () =>
        (await eventCount(app, 'subscription_created', 'processed')) - before >= 4500 && events.idle,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect((await eventCount(app, 'subscription_created', 'processed')) - before).toBe(4500);
    const [rows] = await app.database.query<{
      subscriptions: string;
      distinct_tokens: string;
      accounts: string;
    }>(
      `SELECT count(*) AS subscriptions, count(DISTINCT instrument_token) AS distinct_tokens, count(DISTINCT account_id) AS accounts
         FROM subscriptions WHERE instrument_token BETWEEN 5000001 AND 5004500 AND status = 'active'`,
    );
    expect(rows).toEqual({ subscriptions: '4500', distinct_tokens: '4500', accounts: '3' });
    const [jobRows] = await app.database.query<{ tokens: string; jobs: string; not_event: string }>(
      `SELECT count(DISTINCT instrument_token) AS tokens, count(*) AS jobs,
              count(*) FILTER (WHERE trigger <> 'event') AS not_event
         FROM backfill_jobs WHERE instrument_token BETWEEN 5000001 AND 5004500`,
    );
    expect(jobRows.tokens).toBe('4500');
    expect(jobRows.not_event).toBe('0');
    // One queued job per recorded job: nothing doubled in the queue either.
    const inQueue = (await queue.getJobs(['paused', 'waiting', 'prioritized', 'delayed'])).filter((job) => {
      const token = Number(job.id?.split('-')[1]);
      return token >= 5_000_001 && token <= 5_004_500;
    });
    expect(inQueue.length).toBe(Number(jobRows.jobs));
    expect(new Set(inQueue.map((job) => job.id)).size).toBe(inQueue.length);
    expect(await eventCount(app, 'subscription_created', 'rejected')).toBe(
      bad.filter(([, , label]) => label === 'subscription_created').length,
    );
  }, 90_000);

  it('serves GET /api/v1/subscriptions with status, newest candle and backfill state, and 400 on bad params', async () => {
    const all = await request(app.url).get('/api/v1/subscriptions?limit=1000').expect(200);
    const view = all.body.subscriptions.find(
      (s: { instrument_token: number }) => s.instrument_token === 20011,
    );
    expect(view).toMatchObject({
      instrument_token: 20011,
      status: 'inactive',
      last_candle_time: '2025-11-03T04:00:00.000Z',
      backfill: { state: 'cancelled', trigger: 'event' },
    });
    const active = await request(app.url)
      .get('/api/v1/subscriptions?status=active&limit=2&offset=1')
      .expect(200);
    expect(active.body).toMatchObject({ limit: 2, offset: 1 });
    expect(active.body.subscriptions).toHaveLength(2);
    expect(active.body.subscriptions.every((s: { status: string }) => s.status === 'active')).toBe(true);
    const [counted] = await app.database.query<{ count: string }>(
      "SELECT count(*) AS count FROM subscriptions WHERE status = 'active'",
    );
    expect(active.body.total).toBe(Number(counted.count));
    expect(all.body.total).toBeGreaterThan(active.body.total);
    // Documented in the OpenAPI document with its parameters and response shape.
    const docs = await request(app.url).get('/docs-json').expect(200);
    const operation = docs.body.paths['/api/v1/subscriptions'].get;
    expect(operation.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      'limit',
      'offset',
      'status',
    ]);
    expect(Object.keys(docs.body.components.schemas.SubscriptionViewDto.properties)).toEqual(
      expect.arrayContaining(['instrument_token', 'status', 'last_candle_time', 'backfill']),
    );
    // The gauge follows the table.
    await waitFor('subscriptions_active gauge', async () => {
      const metrics = await request(app.url).get('/metrics').expect(200);
      return metrics.text.includes(`\nsubscriptions_active ${counted.count}\n`);
    });
    for (const query of ['status=paused', 'limit=0', 'limit=1001', 'offset=-1', 'limit=abc', 'color=red']) {
      const response = await request(app.url).get(`/api/v1/subscriptions?${query}`).expect(400);
      expect(response.body.errors[0].field).toBe(query.split('=')[0]);
    }
  });
});

describe('subscription events disabled', () => {
  it('does not subscribe, says so once at boot, and still reconciles', async () => {
    const lines: string[] = [];
    const record = (message: unknown): void => void lines.push(String(message));
    let listed = 0;
    const ticker = createServer((_req, res) => {
      listed++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((resolve) => ticker.listen(0, '127.0.0.1', resolve));
    const app = await startTestApp({
      env: { TICKER_SERVICE_URL: `http://127.0.0.1:${(ticker.address() as AddressInfo).port}` },
      logger: { log: record, warn: record, error: record, debug: () => undefined, verbose: () => undefined },
    });
    const redis = testRedis();
    try {
      expect(app.config.SUBSCRIPTION_EVENTS_ENABLED).toBe(false);
      await waitFor(
        'boot reconciliation',
        () => app.app.get(SubscriptionReconcilerService).last?.complete === true,
      );
      expect(listed).toBeGreaterThanOrEqual(1);
      const [, subscribers] = (await redis.pubsub('NUMSUB', `${app.channelPrefix}:events`)) as [
        string,
        number,
      ];
      expect(subscribers).toBe(0);
      expect(lines.filter((line) => line.includes('SUBSCRIPTION_EVENTS_ENABLED=false'))).toHaveLength(1);
      const ready = await request(app.url).get('/health/ready').expect(200);
      expect(ready.body.details.subscription_events).toMatchObject({
        status: 'up',
        enabled: false,
        connection: 'off',
      });
    } finally {
      redis.disconnect();
      await app.close();
      await new Promise<void>((resolve) => ticker.close(() => resolve()));
    }
  });
});

describe('a flood of rejected subscription events', () => {
  it('warns once per reason, counts every rejection by reason, and keeps processing', async () => {
    const warnings: string[] = [];
    const ticker = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]'),
    );
    await new Promise<void>((resolve) => ticker.listen(0, '127.0.0.1', resolve));
    const app = await startTestApp({
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        RECONCILE_INTERVAL_SECONDS: '86400',
        TICKER_SERVICE_URL: `http://127.0.0.1:${(ticker.address() as AddressInfo).port}`,
        LOG_LEVEL: 'debug',
      },
      logger: {
        log: () => undefined,
        warn: (message: unknown) => void warnings.push(JSON.stringify(message)),
        error: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
    });
    const redis = testRedis();
    try {
      await settled(app);
      const channel = `${app.channelPrefix}:events`;
      const kinds = [
        { reason: 'invalid_json', payload: '{"event_type":' },
        {
          reason: 'invalid_event_type',
          payload: JSON.stringify({ event_type: 'subscription_paused', instrument_token: 1 }),
        },
        {
          reason: 'invalid_instrument_token',
          payload: JSON.stringify({ event_type: 'subscription_created', instrument_token: -5 }),
        },
      ];
      const EACH = 700;
      const before = await subscriptionCounter(app, 'subscriptionEvents', { outcome: 'rejected' });
      const pipeline = redis.pipeline();
      for (let i = 0; i < EACH; i++) for (const { payload } of kinds) pipeline.publish(channel, payload);
      pipeline.publish(
        channel,
        JSON.stringify({ event_type: 'subscription_created', instrument_token: 30999 }),
      );
      await pipeline.exec();
      await waitFor(
        'the valid event after the flood recorded',
        async () =>
          (await app.database.query(`SELECT 1 FROM subscriptions WHERE instrument_token = 30999`)).length ===
          1,
      );
      expect(await subscriptionCounter(app, 'subscriptionEvents', { outcome: 'rejected' })).toBe(
        before + EACH * kinds.length,
      );
      const lines = warnings.filter((line) => line.includes('subscription event rejected'));
      expect(lines).toHaveLength(kinds.length);
      for (const { reason } of kinds) expect(lines.filter((line) => line.includes(reason))).toHaveLength(1);
      const rejected = await app.app.get(MetricsService).subscriptionEventsRejected.get();
      for (const { reason } of kinds)
        expect(rejected.values.find((v) => v.labels.reason === reason)?.value).toBe(EACH);
    } finally {
      redis.disconnect();
      await app.close();
      await new Promise<void>((resolve) => ticker.close(() => resolve()));
    }
  });
});
