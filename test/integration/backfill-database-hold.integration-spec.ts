import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import request from 'supertest';
import { BACKFILL_QUEUE } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import {
  DEFAULT_NSE_HOLIDAYS,
  FixedClock,
  MarketCalendar,
  parseUpstreamTime,
} from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST; one session of lookback (45 finished minutes).
const NOW = '2026-11-26T04:30:00.000Z';
const OPEN = new Date('2026-11-26T03:45:00.000Z');
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);
const TOKEN = 801;

/**
 * A database outage is nobody's fault in particular: a job that meets it mid-run is held and finishes
 * once the database is back, without spending an attempt: an outage sent down the job's failure path
 * would be retried with backoff and end with its record counting two attempts.
 */
describe('backfill: the database cut while a job runs', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let app: TestApp;
  const queuePrefix = uniqueName('q');

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar, latencyMs: 1500 }).start();
    database = await createTestDatabase();
    proxy = await TcpProxy.forUrl(database.url).start();
    app = await startTestApp({
      clock,
      database,
      queuePrefix,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: stub.url,
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        BACKFILL_CONCURRENCY: '1',
        BACKFILL_LOOKBACK_SESSIONS: '1',
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_MAX_ATTEMPTS: '3',
        HISTORY_TIMEOUT_MS: '5000',
        DATABASE_URL: proxy.rewrite(database.url),
      },
    });
  });

  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.stop();
    await stub?.stop();
    await database?.drop();
    const redis = testRedis();
    await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
  });

  it('holds the job while the database is down and completes it later without spending attempts', async () => {
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const [answer] = await requester.request([
      { instrumentToken: TOKEN, trigger: 'event', requestedAt: new Date(NOW) },
    ]);
    const [jobId] = answer.jobIds;
    expect(jobId).toBeDefined();

    // The job is running (its record marked, its fetch under way) when the database goes away.
    await waitFor('the job asked the upstream', () => stub.requests.length === 1);
    proxy.cut();
    try {
      const held = await waitFor(
        'the worker reported waiting for the database',
        async () => {
          const res = await request(app.url).get('/health/ready');
          return res.body?.details?.backfill?.waiting_for?.dependency === 'database'
            ? res.body.details.backfill
            : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(held.waiting_for.reason).toBeTruthy();
      const queue = app.app.get<Queue>(getQueueToken(BACKFILL_QUEUE));
      const job = await queue.getJob(jobId);
      expect(job?.attemptsMade).toBe(0);
      expect(await queue.getJobState(jobId)).not.toBe('failed');
    } finally {
      stub.options.latencyMs = 0;
      proxy.restore();
    }

    const [record] = await waitFor(
      'the job succeeded',
      async () => {
        const rows = await app.database.query<{ state: string; attempts: number }>(
          `SELECT state, attempts FROM backfill_jobs WHERE id = $1`,
          [jobId],
        );
        return rows[0]?.state === 'succeeded' ? rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(record.attempts).toBe(1);
    const queue = app.app.get<Queue>(getQueueToken(BACKFILL_QUEUE));
    expect(await queue.getJobState(jobId)).toBe('completed');

    const rows = await app.database.query<{ time: Date; close: number }>(
      `SELECT time, close FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
      [TOKEN],
    );
    const expected = stub.expected(TOKEN, OPEN, new Date(NOW));
    expect(rows.map((row) => [new Date(row.time).toISOString(), row.close])).toEqual(
      expected.map((c) => [parseUpstreamTime(c.date).toISOString(), c.close]),
    );
    const metrics = await request(app.url).get('/metrics');
    expect(metrics.text).toMatch(/backfill_jobs_deferred_total\{cause="database"\} [1-9]/);
    expect(metrics.text).not.toMatch(/backfill_triggers_total\{trigger="event",outcome="failed"\} [1-9]/);
    const ready = await request(app.url).get('/health/ready');
    expect(ready.body.details.backfill.waiting_for).toBeNull();
  }, 60_000);
});
