import { Queue } from 'bullmq';
import request from 'supertest';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { BackfillScheduler, CYCLE_LOCK_KEY } from '../../src/backfill/backfill.scheduler';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

const NOW = '2026-11-26T19:00:00.000Z';
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

describe('backfill upkeep: records without jobs', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  const redis = testRedis();

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    BACKFILL_ENABLED: 'true',
    TICKER_SERVICE_URL: stub.url,
    BACKFILL_RATE_LIMIT_PER_SECOND: '20',
    BACKFILL_LOOKBACK_SESSIONS: '1',
    BACKFILL_INTERVAL_SECONDS: '86400',
    ...extra,
  });

  const cycle = async (app: TestApp) => {
    await redis.del(`${app.queuePrefix}:${CYCLE_LOCK_KEY}`);
    return app.app.get(BackfillScheduler).runCycle();
  };

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar }).start();
  });

  afterAll(async () => {
    await stub?.stop();
    redis.disconnect();
  });

  it('gives a record that says queued its job again when the queue has lost it, so the instrument is filled', async () => {
    const queuePrefix = uniqueName('q');
    const app = await startTestApp({ clock, queuePrefix, env: env() });
    const queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: queuePrefix,
    });
    try {
      await app.database.query(`INSERT INTO instruments (instrument_token) VALUES (950)`);
      await app.database.query(
        `INSERT INTO subscriptions (instrument_token, status, source) VALUES (950, 'active', 'event')`,
      );
      await queue.pause();
      const { jobIds } = await app.app
        .get<BackfillRequester>(BACKFILL_REQUESTER)
        .request({ instrumentToken: 950, trigger: 'event', requestedAt: clock.now() });
      expect(jobIds).toHaveLength(1);
      // Redis loses the job (a restart without persistence); the record still says queued, and it
      // was written a while ago.
      await queue.remove(jobIds[0]);
      await app.database.query(`UPDATE backfill_jobs SET updated_at = now() - interval '1 minute'`);
      await queue.resume();

      stub.subscriptions = [950];
      const result = await cycle(app);
      expect(result.ran).toBe(true);
      const job = await waitFor(
        'the job run again and succeeded',
        async () => {
          const rows = await app.database.query<{ state: string; attempts: number }>(
            `SELECT state, attempts FROM backfill_jobs WHERE id = $1`,
            [jobIds[0]],
          );
          return rows[0]?.state === 'succeeded' ? rows[0] : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(job.attempts).toBe(1);
      expect(stub.requests.filter((r) => r.token === 950)).toHaveLength(1);
      const metrics = await request(app.url).get('/metrics').expect(200);
      expect(metrics.text).toContain('backfill_records_reconciled_total{action="requeued"} 1');
    } finally {
      stub.subscriptions = [];
      await queue.close();
      await app.close();
      await deleteKeys(redis, queuePrefix);
    }
  });
});
