import { Queue } from 'bullmq';
import request from 'supertest';
import { RunningSimulator, startSimulator } from '../../simulator/simulator';
import { SimulatorKnobs } from '../../simulator/knobs';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { FixedClock, parseUpstreamTime } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { CandleRow, storedCandlesBetween } from '../support/candles';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { holdFault } from '../support/fault';
import { deleteKeys, testRedis } from '../support/redis';
import { PrivateRedis } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

// Long faults held for their full length: an outage is not the jobs' fault, so none of them may use
// up its attempts, end failed, or be forgotten; afterwards every instrument's history is complete,
// minute for minute as the simulator serves it. Minutes of real time each (see docs/ROLLOUT.md).
const PG_OUTAGE_MS = 180_000;
const REDIS_OUTAGE_MS = 30_000;
const STORM_MS = 300_000;

interface JobRecord {
  id: string;
  instrument_token: string;
  state: string;
  attempts: number;
}

/** The simulator on the shared (or a private) Redis, publishing events but no live ticks. */
function simulatorFor(
  channelPrefix: string,
  clock: FixedClock,
  knobs: Partial<SimulatorKnobs>,
  extra: { redisUrl?: string; strikesEachSide?: number } = {},
): Promise<RunningSimulator> {
  return startSimulator({
    redisUrl: extra.redisUrl ?? TEST_REDIS_URL,
    channelPrefix,
    clock,
    liveTickIntervalMs: 0,
    underlyings: ['NIFTY'],
    strikesEachSide: extra.strikesEachSide,
    knobs: { liveTicks: false, ...knobs },
  });
}

const appEnv = (sim: RunningSimulator, extra: Record<string, string> = {}): Record<string, string> => ({
  SUBSCRIPTION_EVENTS_ENABLED: 'true',
  BACKFILL_ENABLED: 'true',
  BACKFILL_IMMEDIATE_ON_SUBSCRIBE: 'true',
  TICKER_SERVICE_URL: sim.url,
  BACKFILL_INTERVAL_SECONDS: '86400',
  ...extra,
});

async function records(db: TestDatabase, tokens: readonly number[]): Promise<JobRecord[]> {
  return db.query<JobRecord>(
    `SELECT id, instrument_token, state, attempts FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])`,
    [tokens],
  );
}

/** Every instrument's job record says succeeded (one record per instrument: one window each). */
function allSucceeded(db: TestDatabase, tokens: readonly number[], timeoutMs: number): Promise<JobRecord[]> {
  return waitFor(
    `every job of ${tokens.length} instruments succeeded`,
    async () => {
      const rows = await records(db, tokens);
      return rows.length === tokens.length && rows.every((row) => row.state === 'succeeded')
        ? rows
        : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Stored minutes equal the simulator's candles from `from` to `to` (inclusive), for every token. */
async function expectComplete(
  db: TestDatabase,
  sim: RunningSimulator,
  tokens: readonly number[],
  from: string,
  to: string,
): Promise<void> {
  const byToken = new Map<number, CandleRow[]>();
  for (const row of await storedCandlesBetween(db, Date.parse(from))) {
    const token = Number(row.instrument_token);
    byToken.set(token, [...(byToken.get(token) ?? []), row]);
  }
  let candles = 0;
  for (const token of tokens) {
    // An illiquid strike may have no trade in a short window: then nothing is stored, rightly.
    const expected = sim.history(token, from, to, { oi: true });
    candles += expected.length;
    const rows = byToken.get(token) ?? [];
    expect({
      token,
      minutes: rows.map((r) => [new Date(r.time).toISOString(), r.close, Number(r.volume)]),
    }).toEqual({
      token,
      minutes: expected.map((c) => [parseUpstreamTime(c.date).toISOString(), c.close, c.volume]),
    });
  }
  expect(candles).toBeGreaterThan(tokens.length);
}

const metricValue = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

describe('outages and storms held for their full length', () => {
  it(
    'three minutes of PostgreSQL cut while jobs wait on a slow upstream: every instrument complete, every record true',
    async () => {
      // Thursday 2025-11-06 11:00:30 IST; five sessions back: 30, 31 October, 3, 4, 6 November.
      const clock = new FixedClock('2025-11-06T05:30:30.000Z');
      const channelPrefix = `${uniqueName('sim')}:nifty`;
      // One request a second: most of the six jobs are still waiting when the database goes.
      const sim = await simulatorFor(channelPrefix, clock, { historyRatePerSec: 1 });
      const database = await createTestDatabase();
      const proxy = await TcpProxy.forUrl(database.url).start();
      let app: TestApp | undefined;
      const queuePrefix = uniqueName('q');
      const queue = new Queue(BACKFILL_QUEUE, {
        connection: redisOptionsFromUrl(TEST_REDIS_URL),
        prefix: queuePrefix,
      });
      try {
        app = await startTestApp({
          clock,
          database,
          channelPrefix,
          queuePrefix,
          env: appEnv(sim, { DATABASE_URL: proxy.rewrite(database.url) }),
        });
        const tokens = sim.universe.instruments
          .filter((i) => (i.kind === 'CE' || i.kind === 'PE') && i.noTradeProbability === 0)
          .slice(0, 6)
          .map((i) => i.instrument_token);
        for (const token of tokens) await sim.subscribe(token);
        await waitFor(
          'a job record for every subscription',
          async () => (await records(database, tokens)).length === 6,
        );

        proxy.cut();
        const url = app.url;
        let reported = false;
        await holdFault(PG_OUTAGE_MS, async () => {
          // Nothing fails, and no waiting job has used an attempt on the outage.
          expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
          const pending = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'paused']);
          expect(pending.map((job) => [job.id, job.attemptsMade])).toEqual(pending.map((job) => [job.id, 0]));
          const ready = await request(url).get('/health/ready');
          if (ready.body.details?.backfill?.waiting_for?.dependency === 'database') reported = true;
        });
        expect(reported).toBe(true);
        const during = await request(url).get('/metrics');
        expect(metricValue(during.text, 'backfill_dependency_down{dependency="database"}')).toBe(1);
        proxy.restore();

        const done = await allSucceeded(database, tokens, 60_000);
        // The outage used no attempt: each job succeeded at its first.
        expect(done.map((row) => row.attempts)).toEqual(tokens.map(() => 1));
        expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
        await expectComplete(database, sim, tokens, '2025-10-30T03:45:00Z', '2025-11-06T05:30:00Z');
        const metrics = await request(url).get('/metrics');
        expect(metricValue(metrics.text, 'backfill_jobs_deferred_total{cause="database"}')).toBeGreaterThan(
          0,
        );
        expect(metricValue(metrics.text, 'backfill_dependency_down{dependency="database"}')).toBe(0);
        expect(
          metricValue(metrics.text, 'backfill_dependency_down_seconds_total{dependency="database"}'),
        ).toBeGreaterThan(PG_OUTAGE_MS / 1000 - 30);
        expect(metrics.text).not.toMatch(/backfill_triggers_total\{trigger="event",outcome="failed"\}/);
      } finally {
        proxy.restore();
        await queue.close();
        await app?.close();
        await proxy.stop();
        await sim.stop();
        await database.drop();
        const redis = testRedis();
        await deleteKeys(redis, queuePrefix).finally(() => redis.disconnect());
      }
    },
    PG_OUTAGE_MS + 180_000,
  );

  it(
    'thirty seconds of Redis down, back empty: every lost job queued again, every instrument complete',
    async () => {
      const clock = new FixedClock('2025-11-06T05:30:30.000Z');
      const redis = await PrivateRedis.start();
      const channelPrefix = `${uniqueName('sim')}:nifty`;
      // The events travel through the private Redis too; the upstream is slow, so jobs wait in it.
      const sim = await simulatorFor(channelPrefix, clock, { historyRatePerSec: 1 }, { redisUrl: redis.url });
      let app: TestApp | undefined;
      try {
        app = await startTestApp({
          clock,
          channelPrefix,
          env: appEnv(sim, { REDIS_URL: redis.url, BACKFILL_CONCURRENCY: '1' }),
        });
        const database = app.database;
        const tokens = sim.universe.instruments
          .filter((i) => (i.kind === 'CE' || i.kind === 'PE') && i.noTradeProbability === 0)
          .slice(0, 8)
          .map((i) => i.instrument_token);
        for (const token of tokens) await sim.subscribe(token);
        await waitFor(
          'a job record for every subscription, and the first job done',
          async () => {
            const rows = await records(database, tokens);
            return rows.length === 8 && rows.some((row) => row.state === 'succeeded');
          },
          { timeoutMs: 20_000 },
        );
        const before = await records(database, tokens);
        expect(before.filter((row) => row.state === 'queued').length).toBeGreaterThanOrEqual(4);

        await redis.kill();
        const url = app.url;
        await holdFault(REDIS_OUTAGE_MS, async () => {
          // The process stays up and no record is given up on while the queue is unreachable.
          expect((await request(url).get('/health/live')).status).toBe(200);
          expect(await database.query(`SELECT 1 FROM backfill_jobs WHERE state = 'failed'`)).toHaveLength(0);
        });
        await redis.start();
        // Back empty: the queue's jobs, its locks and its limiter are gone with the data.
        expect(await redis.size()).toBeLessThan(5);

        const done = await allSucceeded(database, tokens, 90_000);
        expect(done.map((row) => row.attempts).every((attempts) => attempts >= 1)).toBe(true);
        await expectComplete(database, sim, tokens, '2025-10-30T03:45:00Z', '2025-11-06T05:30:00Z');
        const metrics = await request(url).get('/metrics');
        expect(
          metricValue(metrics.text, 'backfill_records_reconciled_total{action="requeued"}'),
        ).toBeGreaterThan(0);
        expect(metrics.text).not.toMatch(/backfill_triggers_total\{trigger="event",outcome="failed"\}/);
        const failed = await database.query(`SELECT 1 FROM backfill_jobs WHERE state = 'failed'`);
        expect(failed).toHaveLength(0);
      } finally {
        await app?.close();
        await sim.stop();
        await redis.kill();
      }
    },
    REDIS_OUTAGE_MS + 180_000,
  );

  it(
    'a five-minute storm of 50% 502s at 3 requests/s while instruments keep arriving: none fails, none spends its attempts',
    async () => {
      // Thursday 2025-11-06 09:45:30 IST: one session of lookback is the half hour since the open.
      const clock = new FixedClock('2025-11-06T04:15:30.000Z');
      const channelPrefix = `${uniqueName('sim')}:nifty`;
      const sim = await simulatorFor(
        channelPrefix,
        clock,
        { historyRatePerSec: 3, fail502Rate: 0.5 },
        { strikesEachSide: 40 },
      );
      let app: TestApp | undefined;
      try {
        app = await startTestApp({
          clock,
          channelPrefix,
          env: appEnv(sim, { BACKFILL_RATE_LIMIT_PER_SECOND: '3', BACKFILL_LOOKBACK_SESSIONS: '1' }),
        });
        const database = app.database;
        const queue = new Queue(BACKFILL_QUEUE, {
          connection: redisOptionsFromUrl(TEST_REDIS_URL),
          prefix: app.queuePrefix,
        });
        try {
          // About as many instruments as the upstream can serve in the storm at 3 requests/s, half
          // of them failing: they arrive in ten waves, so the storm meets new work all along.
          const tokens = sim.universe.instruments
            .filter((i) => i.kind === 'CE' || i.kind === 'PE')
            .slice(0, 400)
            .map((i) => i.instrument_token);
          expect(tokens).toHaveLength(400);
          const waves = 10;
          const perWave = tokens.length / waves;
          const noFailure = async (): Promise<void> => {
            expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
            expect(await database.query(`SELECT 1 FROM backfill_jobs WHERE state = 'failed'`)).toHaveLength(
              0,
            );
          };
          const storm = Date.now();
          for (let wave = 0; wave < waves; wave++) {
            for (const token of tokens.slice(wave * perWave, (wave + 1) * perWave))
              await sim.subscribe(token);
            await holdFault(Math.max(0, storm + ((wave + 1) * STORM_MS) / waves - Date.now()), noFailure);
          }
          expect(sim.stats().history.fault502).toBeGreaterThan(300);
          sim.setKnobs({ fail502Rate: 0 });

          const done = await allSucceeded(database, tokens, 240_000);
          await noFailure();
          // At most half of the eight attempts went on the storm (at its start only, before enough
          // answers for other instruments tell a storm from a broken contract): the rest stay for the
          // job's own failures.
          expect(done.filter((row) => row.attempts > 4)).toEqual([]);
          await expectComplete(database, sim, tokens, '2025-11-06T03:45:00Z', '2025-11-06T04:15:00Z');
          const metrics = await request(app.url).get('/metrics');
          expect(metricValue(metrics.text, 'backfill_jobs_deferred_total{cause="upstream"}')).toBeGreaterThan(
            0,
          );
        } finally {
          await queue.close();
        }
      } finally {
        await app?.close();
        await sim.stop();
      }
    },
    STORM_MS + 360_000,
  );
});
