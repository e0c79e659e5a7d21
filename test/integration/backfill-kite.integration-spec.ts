import { Queue } from 'bullmq';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar, toIstIso } from '../../src/contracts/market-time';
import { startTestApp } from '../support/app-harness';
import { createTestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { waitFor } from '../support/wait-for';

// Thursday 2026-11-26 10:00 IST; one session of lookback.
const NOW = '2026-11-26T04:30:00.000Z';
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

describe('Kite provider: an expired access token pauses the queue', () => {
  let server: Server;
  let tokenValid = false;
  const asked: URL[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://kite');
      asked.push(url);
      if (!tokenValid || req.headers.authorization !== 'token key1:token1') {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'error',
            message: 'Incorrect api_key or access_token.',
            error_type: 'TokenException',
          }),
        );
        return;
      }
      const minutes = calendar.sessionMinutes(new Date('2026-11-26T03:45:00Z'), new Date(NOW));
      const candles = minutes.map((m, i) => [
        toIstIso(m).replace('+05:30', '+0530'),
        10 + i,
        11 + i,
        9 + i,
        10.5 + i,
        75,
        900,
      ]);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { candles } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reports the 403 clearly, stops asking, and resumes after a restart', async () => {
    const clock = new FixedClock(NOW);
    const database = await createTestDatabase();
    const queuePrefix = uniqueName('q');
    const env = {
      BACKFILL_ENABLED: 'true',
      HISTORY_PROVIDER: 'kite',
      KITE_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      KITE_API_KEY: 'key1',
      KITE_ACCESS_TOKEN: 'token1',
      BACKFILL_RATE_LIMIT_PER_SECOND: '20',
      BACKFILL_LOOKBACK_SESSIONS: '1',
      BACKFILL_INTERVAL_SECONDS: '86400',
    };
    const queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: queuePrefix,
    });
    try {
      const first = await startTestApp({ clock, database, queuePrefix, env });
      try {
        const requester = first.app.get<BackfillRequester>(BACKFILL_REQUESTER);
        await requester.request(
          [11, 12, 13].map((instrumentToken) => ({
            instrumentToken,
            trigger: 'event',
            requestedAt: clock.now(),
          })),
        );
        const ready = await waitFor('pause reported', async () => {
          const res = await request(first.url).get('/health/ready');
          return res.body?.details?.backfill?.paused ? res.body : undefined;
        });
        expect(ready.details.backfill.paused).toMatch(/403 TokenException.*KITE_ACCESS_TOKEN/);
        expect(await queue.isPaused()).toBe(true);
        const jobs = await database.query<{ state: string }>(`SELECT state FROM backfill_jobs`);
        expect(jobs.every((job) => job.state !== 'failed')).toBe(true);
      } finally {
        await first.close();
      }
      // At most the requests already in flight when the first 403 came back.
      expect(asked.length).toBeLessThanOrEqual(3);
      expect(asked[0].searchParams.get('from')).toBe('2026-11-26 09:15:00');

      tokenValid = true;
      const second = await startTestApp({ clock, database, queuePrefix, env });
      try {
        await waitFor('all jobs succeeded after the restart', async () => {
          const rows = await database.query<{ state: string }>(`SELECT state FROM backfill_jobs`);
          return rows.length === 3 && rows.every((row) => row.state === 'succeeded');
        });
        const [count] = await database.query<{ n: string }>(`SELECT count(*) AS n FROM candles_1m`);
        expect(Number(count.n)).toBe(3 * 45);
      } finally {
        await second.close();
      }
    } finally {
      await queue.close();
      await database.drop();
      const redis = testRedis();
      await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
    }
  }, 30_000);
});
