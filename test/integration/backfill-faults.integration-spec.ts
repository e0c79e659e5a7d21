import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { Client } from 'pg';
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
import { createTestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { TimerWatch } from '../support/timer-watch';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST; one session of lookback (45 finished minutes).
const NOW = '2026-11-26T04:30:00.000Z';
const OPEN = new Date('2026-11-26T03:45:00.000Z');
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

const baseEnv = (stub: HistoryStub, extra: Record<string, string> = {}): Record<string, string> => ({
  BACKFILL_ENABLED: 'true',
  TICKER_SERVICE_URL: stub.url,
  BACKFILL_RATE_LIMIT_PER_SECOND: '20',
  BACKFILL_CONCURRENCY: '4',
  BACKFILL_LOOKBACK_SESSIONS: '1',
  BACKFILL_INTERVAL_SECONDS: '86400',
  HISTORY_TIMEOUT_MS: '1000',
  ...extra,
});

async function jobStates(app: TestApp, tokens: number[]): Promise<string[]> {
  const rows = await app.database.query<{ state: string }>(
    `SELECT state FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])`,
    [tokens],
  );
  return rows.map((row) => row.state);
}

async function allSucceeded(app: TestApp, tokens: number[], timeoutMs = 20_000): Promise<void> {
  await waitFor(
    `jobs of ${tokens.length} instruments succeeded`,
    async () => {
      const states = await jobStates(app, tokens);
      return states.length === tokens.length && states.every((state) => state === 'succeeded');
    },
    { timeoutMs, intervalMs: 50 },
  );
}

/** The stored minutes are exactly the upstream's: nothing missing, nothing extra, values equal. */
async function expectComplete(app: TestApp, stub: HistoryStub, token: number): Promise<void> {
  const rows = await app.database.query<{ time: Date; close: number; volume: string }>(
    `SELECT time, close, volume FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
    [token],
  );
  const expected = stub.expected(token, OPEN, new Date(NOW));
  expect(rows.map((row) => [new Date(row.time).toISOString(), row.close, Number(row.volume)])).toEqual(
    expected.map((c) => [parseUpstreamTime(c.date).toISOString(), c.close, c.volume]),
  );
}

async function requestAll(app: TestApp, tokens: number[]): Promise<void> {
  const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
  await requester.request(
    tokens.map((instrumentToken) => ({ instrumentToken, trigger: 'event', requestedAt: new Date(NOW) })),
  );
}

const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);

describe('backfill faults', () => {
  const clock = new FixedClock(NOW);

  describe('upstream failures', () => {
    let stub: HistoryStub;
    let app: TestApp;
    beforeAll(async () => {
      stub = await new HistoryStub({ clock, calendar, unknownTokens: [4242] }).start();
      app = await startTestApp({ clock, env: baseEnv(stub) });
    });
    afterAll(async () => {
      await app?.close();
      await stub?.stop();
    });

    it('retries 502 and 429 bursts, honouring Retry-After', async () => {
      stub.failures = [502, 429];
      stub.retryAfterSeconds = 1;
      await requestAll(app, [101]);
      await allSucceeded(app, [101]);
      stub.retryAfterSeconds = undefined;
      const [job] = await app.database.query<{ attempts: number }>(
        `SELECT attempts FROM backfill_jobs WHERE instrument_token = 101`,
      );
      expect(job.attempts).toBe(3);
      const times = stub.requests.filter((r) => r.token === 101).map((r) => r.at);
      expect(times).toHaveLength(3);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(950);
      await expectComplete(app, stub, 101);
    });

    it('opens the circuit while the upstream is down, reports it, and completes once it is back', async () => {
      stub.down = true;
      const tokens = range(201, 6);
      await requestAll(app, tokens);
      const ready = await waitFor('circuit reported open', async () => {
        const res = await request(app.url).get('/health/ready');
        return res.body?.details?.backfill?.circuit === 'open' ? res.body : undefined;
      });
      expect(ready.details.backfill.consecutive_failures).toBeGreaterThanOrEqual(5);
      const refusedWhileOpen = stub.requests.length;
      stub.down = false;
      await allSucceeded(app, tokens, 40_000);
      for (const token of tokens) await expectComplete(app, stub, token);
      // Once the trial succeeded every instrument needed one request; nothing hammered the dead upstream.
      expect(stub.requests.length - refusedWhileOpen).toBe(tokens.length);
      const res = await request(app.url).get('/health/ready');
      expect(res.body.details.backfill.circuit).toBe('closed');
    }, 50_000);

    it('parks an instrument the upstream does not know, with a TTL, and shows it', async () => {
      await requestAll(app, [4242]);
      await waitFor('job skipped', async () => (await jobStates(app, [4242]))[0] === 'skipped');
      const coverage = await request(app.url).get('/api/v1/instruments/4242/coverage').expect(200);
      expect(coverage.body.unsupported).toMatchObject({ active: true, failures: 1 });
      expect(Date.parse(coverage.body.unsupported.expires_at) - Date.parse(NOW)).toBe(21_600_000);
      const [again] = await app.app
        .get<BackfillRequester>(BACKFILL_REQUESTER)
        .request([{ instrumentToken: 4242, trigger: 'manual', requestedAt: new Date(NOW) }]);
      expect(again.skipped).toMatch(/unsupported/);
      expect(stub.requests.filter((r) => r.token === 4242)).toHaveLength(1);
    });
  });

  describe("the ticker's 5h30 window quirk", () => {
    let stub: HistoryStub;
    beforeAll(async () => {
      stub = await new HistoryStub({ clock, calendar, quirk: true }).start();
    });
    afterAll(async () => stub?.stop());

    it('without the correction stores nothing misplaced; with it the data is complete', async () => {
      const plain = await startTestApp({ clock, env: baseEnv(stub) });
      try {
        await requestAll(plain, [301]);
        await allSucceeded(plain, [301]);
        const rows = await plain.database.query<{ time: Date; close: number }>(
          `SELECT time, close FROM candles_1m WHERE instrument_token = 301`,
        );
        // The answer is for 04:15-05:00 IST: nothing of it lies in the session window asked for.
        expect(rows).toEqual([]);
      } finally {
        await plain.close();
      }
      const corrected = await startTestApp({
        clock,
        env: baseEnv(stub, { TICKER_WINDOW_SHIFT_MINUTES: '330' }),
      });
      try {
        await requestAll(corrected, [301]);
        await allSucceeded(corrected, [301]);
        await expectComplete(corrected, stub, 301);
      } finally {
        await corrected.close();
      }
    });
  });

  describe('Redis and the database cut mid-run', () => {
    let stub: HistoryStub;
    beforeAll(async () => {
      stub = await new HistoryStub({ clock, calendar, latencyMs: 20 }).start();
    });
    afterAll(async () => stub?.stop());

    /**
     * Requests `tokens`, cuts `proxy` once a few jobs are done and holds the cut until readiness
     * reports `what` down, then restores it: every job must still finish with exactly the upstream minutes.
     */
    async function completesThroughCut(
      app: TestApp,
      proxy: TcpProxy,
      tokens: number[],
      what: 'redis' | 'database',
    ): Promise<void> {
      await requestAll(app, tokens);
      await waitFor(
        'some jobs done',
        async () => (await jobStates(app, tokens)).filter((s) => s === 'succeeded').length >= 5,
      );
      proxy.cut();
      await waitFor(
        `${what} reported down`,
        async () => (await request(app.url).get('/health/ready')).body?.details?.[what]?.status === 'down',
      );
      proxy.restore();
      await allSucceeded(app, tokens, 40_000);
      for (const token of tokens) await expectComplete(app, stub, token);
    }

    it('survives Redis refusing connections mid-run', async () => {
      const proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
      const app = await startTestApp({
        clock,
        env: baseEnv(stub, {
          REDIS_URL: proxy.rewrite(TEST_REDIS_URL),
          BACKFILL_RATE_LIMIT_PER_SECOND: '10',
        }),
      });
      try {
        await completesThroughCut(app, proxy, range(401, 30), 'redis');
      } finally {
        await app.close();
        await proxy.stop();
      }
    }, 60_000);

    it('closes just as Redis comes back after a cut, leaving no timer of the worker behind', async () => {
      const proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
      const timers = new TimerWatch().start();
      const app = await startTestApp({
        clock,
        env: baseEnv(stub, { REDIS_URL: proxy.rewrite(TEST_REDIS_URL), SHUTDOWN_TIMEOUT_MS: '5000' }),
      });
      let closed = false;
      try {
        const tokens = range(451, 5);
        await requestAll(app, tokens);
        await allSucceeded(app, tokens);
        // Closed just as Redis comes back: the worker's blocking client is still reconnecting, and
        // BullMQ's graceful close waits for its end, which never comes (taskforcesh/bullmq#4656).
        proxy.cut();
        await waitFor(
          'redis reported down',
          async () => (await request(app.url).get('/health/ready')).body?.details?.redis?.status === 'down',
        );
        proxy.restore();
        const closing = Date.now();
        closed = true;
        await app.close();
        expect(Date.now() - closing).toBeLessThan(5000);
        // A worker whose close never finished keeps renewing its locks forever, and keeps the process
        // alive. Its blocking read's watchdog may still run out once: the block timeout plus 1 s, where
        // the block timeout is BullMQ's longest (10 s) while a delayed job waits, and the periodic
        // jobs' next runs always do.
        await waitFor('every timer of the closed app ended', () => timers.keepingAlive().length === 0, {
          timeoutMs: 13_000,
          intervalMs: 250,
        }).catch(() => expect(timers.keepingAlive()).toEqual([]));
      } finally {
        timers.stop();
        proxy.restore();
        if (!closed) await app.close();
        await proxy.stop();
      }
    }, 60_000);

    it('survives the database refusing connections mid-run', async () => {
      const database = await createTestDatabase();
      const proxy = await TcpProxy.forUrl(database.url).start();
      const queuePrefix = uniqueName('q');
      const app = await startTestApp({
        clock,
        database,
        queuePrefix,
        env: baseEnv(stub, {
          DATABASE_URL: proxy.rewrite(database.url),
          BACKFILL_RATE_LIMIT_PER_SECOND: '10',
        }),
      });
      try {
        await completesThroughCut(app, proxy, range(501, 30), 'database');
      } finally {
        await app.close();
        await proxy.stop();
        await database.drop();
        const redis = testRedis();
        await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
      }
    }, 60_000);
  });

  describe('a write slower than DB_QUERY_TIMEOUT_MS while the database answers', () => {
    let stub: HistoryStub;
    let app: TestApp;
    let locker: Client | undefined;
    beforeAll(async () => {
      stub = await new HistoryStub({ clock, calendar }).start();
      app = await startTestApp({
        clock,
        env: baseEnv(stub, { DB_QUERY_TIMEOUT_MS: '1000', BACKFILL_MAX_ATTEMPTS: '3' }),
      });
    });
    afterAll(async () => {
      await locker?.end().catch(() => undefined);
      await app?.close();
      await stub?.stop();
    });

    it("uses the job's attempts and ends it failed, while other instruments' jobs go on", async () => {
      // Another session holds a row of 701's window (a long transaction of its own): every write of
      // the window waits for it until the server cancels the statement. SELECT 1 answers at once.
      const minute = calendar
        .sessionMinutes(OPEN, new Date(NOW))
        .find((m) => HistoryStub.candle(701, m.getTime()) !== undefined)!;
      await app.database.query(
        `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, source)
         VALUES (701, $1, 1, 1, 1, 1, 0, 'stream')`,
        [minute.toISOString()],
      );
      locker = new Client({ connectionString: app.database.url });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM candles_1m WHERE instrument_token = 701 FOR UPDATE`);
      try {
        await requestAll(app, [701, 702]);
        await allSucceeded(app, [702]);
        const [job] = await waitFor(
          "701's job failed after its attempts",
          async () => {
            const rows = await app.database.query<{
              id: string;
              state: string;
              attempts: number;
              error: string;
            }>(`SELECT id, state, attempts, error FROM backfill_jobs WHERE instrument_token = 701`);
            return rows[0]?.state === 'failed' ? rows : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
        expect(job.attempts).toBe(3);
        expect(job.error).toMatch(/statement timeout/);
        const queue = app.app.get<Queue>(getQueueToken(BACKFILL_QUEUE));
        expect(await queue.getJobState(job.id)).toBe('failed');
        // Three requests, each answered: the attempts went to the write, none to a deferral.
        expect(stub.requests.filter((r) => r.token === 701)).toHaveLength(3);
        const metrics = await request(app.url).get('/metrics');
        expect(metrics.text).not.toMatch(/backfill_jobs_deferred_total\{cause="database"\} [1-9]/);
        expect(metrics.text).toMatch(/backfill_triggers_total\{trigger="event",outcome="failed"\} 1\b/);
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
        locker = undefined;
      }
      await expectComplete(app, stub, 702);
    }, 45_000);
  });

  describe('SIGTERM mid-job and a restart with jobs pending', () => {
    it('returns the job in flight to the queue, and the next start finishes everything', async () => {
      const stub = await new HistoryStub({ clock, calendar, latencyMs: 5000 }).start();
      const database = await createTestDatabase();
      const queuePrefix = uniqueName('q');
      const env = baseEnv(stub, {
        BACKFILL_CONCURRENCY: '1',
        SHUTDOWN_TIMEOUT_MS: '5000',
        HISTORY_TIMEOUT_MS: '15000',
      });
      const tokens = range(601, 3);
      try {
        const first = await startTestApp({ clock, database, queuePrefix, env });
        await requestAll(first, tokens);
        await waitFor('a request in flight', () => stub.requests.length === 1);
        const closing = Date.now();
        await first.close();
        // Well inside the bound: the fetch was abandoned, not waited for.
        expect(Date.now() - closing).toBeLessThan(3000);

        stub.options.latencyMs = 0;
        const second = await startTestApp({ clock, database, queuePrefix, env });
        try {
          await allSucceeded(second, tokens);
          for (const token of tokens) await expectComplete(second, stub, token);
          const attempts = await second.database.query<{ attempts: number }>(
            `SELECT attempts FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])`,
            [tokens],
          );
          // The interrupted job was handed back, not failed: no attempt was used up.
          expect(attempts.map((row) => row.attempts)).toEqual([1, 1, 1]);
        } finally {
          await second.close();
        }
      } finally {
        await stub.stop();
        await database.drop();
        const redis = testRedis();
        await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
      }
    }, 30_000);
  });
});
