import { Queue } from 'bullmq';
import request from 'supertest';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import {
  DEFAULT_NSE_HOLIDAYS,
  MarketCalendar,
  parseUpstreamTime,
  SystemClock,
} from '../../src/contracts/market-time';
import { startTestApp } from '../support/app-harness';
import { createTestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { startServiceProcess } from '../support/service-process';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from '../integration/backfill-upstream.stub';

// Friday 2026-11-27 09:15-10:15 IST: a window in the past whatever the hour of the run.
const FROM = '2026-11-27T03:45:00.000Z';
const TO = '2026-11-27T04:45:00.000Z';
const TOKEN = 808;

describe('SIGTERM with a backfill job in flight (the real process)', () => {
  it('exits promptly with the job back in the queue; the next start completes it', async () => {
    const clock = new SystemClock();
    const stub = await new HistoryStub({
      clock,
      calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS),
      latencyMs: 20_000,
    }).start();
    const database = await createTestDatabase();
    const queuePrefix = uniqueName('q');
    const queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: queuePrefix,
    });
    const env = {
      DATABASE_URL: database.url,
      DB_MIGRATE_ON_BOOT: 'true',
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      REDIS_CHANNEL_PREFIX: `${queuePrefix}:nifty`,
      SUBSCRIPTION_EVENTS_ENABLED: 'false',
      FO_STREAM_ENABLED: 'false',
      BACKFILL_ENABLED: 'true',
      BACKFILL_INTERVAL_SECONDS: '86400',
      TICKER_SERVICE_URL: stub.url,
      HISTORY_TIMEOUT_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '8000',
      LOG_LEVEL: 'warn',
      TS_NODE_TRANSPILE_ONLY: 'true',
    };
    try {
      const service = await startServiceProcess(env);
      const accepted = await request(service.url)
        .post('/api/v1/backfill')
        .send({ instrument_token: TOKEN, from: FROM, to: TO })
        .expect(202);
      const jobId: string = accepted.body.job_id;
      await waitFor('the request in flight upstream', () => stub.requests.length === 1, {
        timeoutMs: 15_000,
      });
      const stopped = await service.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      // The fetch was abandoned rather than waited for (the upstream would take 20 s).
      expect(stopped.ms).toBeLessThan(8000);
      expect(await (await queue.getJob(jobId))?.getState()).toMatch(/waiting|prioritized/);

      stub.options.latencyMs = 0;
      const next = await startTestApp({
        clock,
        database,
        queuePrefix,
        env: { BACKFILL_ENABLED: 'true', TICKER_SERVICE_URL: stub.url, BACKFILL_INTERVAL_SECONDS: '86400' },
      });
      try {
        const job = await waitFor('job succeeded after the restart', async () => {
          const res = await request(next.url).get(`/api/v1/backfill/jobs/${jobId}`);
          return res.body.state === 'succeeded' ? res.body : undefined;
        });
        expect(job.attempts).toBe(1);
        const rows = await database.query<{ time: Date }>(
          `SELECT time FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
          [TOKEN],
        );
        expect(rows.map((row) => new Date(row.time).toISOString())).toEqual(
          stub
            .expected(TOKEN, new Date(FROM), new Date(TO))
            .map((c) => parseUpstreamTime(c.date).toISOString()),
        );
      } finally {
        await next.close();
      }
    } finally {
      await queue.close();
      await stub.stop();
      await database.drop();
      const redis = testRedis();
      await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
    }
  }, 90_000);
});
