import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { freePort } from '../support/service-process';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

// Monday 2025-11-03 11:30 IST.
const NOW = '2025-11-03T06:00:00Z';

interface Ready {
  status: number;
  body: { status: string; details: Record<string, { status: string } & Record<string, unknown>> };
}

/**
 * Readiness decides whether a pod stays in the Service, i.e. receives REST reads. Those need
 * PostgreSQL only: a Redis blip must not take every replica out at once, while a database outage must.
 */
describe('readiness per role, with Redis and PostgreSQL cut through TCP proxies', () => {
  const clock = new FixedClock(NOW);
  let database: TestDatabase;
  let redisProxy: TcpProxy;
  let databaseProxy: TcpProxy;
  const queuePrefix = uniqueName('q');
  const channelPrefix = `${uniqueName('hr')}:nifty`;
  const apps: TestApp[] = [];

  const start = async (env: Record<string, string> = {}): Promise<TestApp> => {
    const app = await startTestApp({
      clock,
      database,
      queuePrefix,
      channelPrefix,
      env: {
        DATABASE_URL: databaseProxy.rewrite(database.url),
        REDIS_URL: redisProxy.rewrite(TEST_REDIS_URL),
        // Every role on, as in one pod of the Deployment; no ticker here, which is not the point.
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        FO_STREAM_ENABLED: 'true',
        BACKFILL_INTERVAL_SECONDS: '86400',
        TICKER_SERVICE_URL: `http://127.0.0.1:${await freePort()}`,
        ...env,
      },
    });
    apps.push(app);
    return app;
  };

  const ready = async (app: TestApp): Promise<Ready> => {
    const response = await fetch(`${app.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as Ready['body'] };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    redisProxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    databaseProxy = await TcpProxy.forUrl(database.url).start();
  });

  afterEach(async () => {
    redisProxy.restore();
    databaseProxy.restore();
    for (const app of apps.splice(0)) await app.close();
  });

  afterAll(async () => {
    await redisProxy?.stop();
    await databaseProxy?.stop();
    await database?.drop();
    const redis = testRedis();
    await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
  });

  it('stays ready and serves reads while Redis is cut, with Redis reported down', async () => {
    const app = await start();
    expect((await ready(app)).status).toBe(200);
    redisProxy.cut();
    // The ping and the event connection notice the cut each in their own time: wait for both.
    const during = await waitFor('Redis and the event connection reported down', async () => {
      const answer = await ready(app);
      const { redis, subscription_events: events } = answer.body.details;
      return redis?.status === 'down' && events?.status === 'down' ? answer : undefined;
    });
    expect(during.status).toBe(200);
    expect(during.body.status).toBe('ok');
    expect(during.body.details.database.status).toBe('up');
    // What needs Redis says so in the details, without taking the pod out of the Service.
    expect(during.body.details.subscription_events).toEqual(
      expect.objectContaining({ status: 'down', required: false }),
    );
    expect(during.body.details.redis).toEqual(expect.objectContaining({ required: false }));
    expect(during.body.details.database).toEqual(expect.objectContaining({ required: true }));
    const candles = await fetch(
      `${app.url}/api/v1/instruments/13660418/candles?from=2025-11-03T03:45:00Z&to=2025-11-03T05:00:00Z`,
    );
    expect(candles.status).toBe(200);
    expect((await fetch(`${app.url}/api/v1/subscriptions`)).status).toBe(200);
  });

  it('is unready while PostgreSQL is cut, and ready again once it is back', async () => {
    const app = await start();
    databaseProxy.cut();
    const during = await waitFor('database reported down', async () => {
      const answer = await ready(app);
      return answer.status === 503 ? answer : undefined;
    });
    expect(during.body.details.database.status).toBe('down');
    expect(during.body.details.redis.status).toBe('up');
    databaseProxy.restore();
    await waitFor('ready again', async () => (await ready(app)).status === 200, { timeoutMs: 15_000 });
  });

  it('also requires Redis where HEALTH_READINESS_REQUIRES says so', async () => {
    const app = await start({ HEALTH_READINESS_REQUIRES: 'database,redis' });
    redisProxy.cut();
    const during = await waitFor('unready without Redis', async () => {
      const answer = await ready(app);
      return answer.status === 503 ? answer : undefined;
    });
    expect(during.body.details.redis).toEqual(expect.objectContaining({ status: 'down', required: true }));
  });
});
