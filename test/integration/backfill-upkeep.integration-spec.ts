import { Queue } from 'bullmq';
import request from 'supertest';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Friday 2026-11-27 00:30 IST, which is still Thursday the 26th in UTC: a contract that expired on
// the 26th has expired by the IST date, not yet by the UTC one.
const NOW = '2026-11-26T19:00:00.000Z';
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

describe('backfill upkeep: expired contracts, retention, listing, records without jobs', () => {
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
    return app.app.get(BackfillScheduler).runCycle();
  };

  const swept = async (app: TestApp): Promise<number[]> =>
    (
      await app.database.query<{ instrument_token: string }>(
        `SELECT DISTINCT instrument_token FROM backfill_jobs WHERE trigger = 'sweep' ORDER BY 1`,
      )
    ).map((row) => Number(row.instrument_token));

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar }).start();
  });

  afterAll(async () => {
    await stub?.stop();
    redis.disconnect();
  });

  describe.each([
    ['every known instrument', 'false'],
    ['active subscriptions', 'true'],
  ])('the sweep over %s', (_what, aware) => {
    it('leaves out contracts that expired before today (IST)', async () => {
      const app = await startTestApp({ clock, env: env({ BACKFILL_SUBSCRIPTION_AWARE: aware }) });
      try {
        const instruments: [number, string | null][] = [
          [801, '2026-11-24'],
          [802, '2026-11-26'],
          [803, '2026-11-27'],
          [804, '2026-12-29'],
          [805, null],
        ];
        for (const [token, expiry] of instruments) {
          await app.database.query(`INSERT INTO instruments (instrument_token, expiry) VALUES ($1, $2)`, [
            token,
            expiry,
          ]);
          await app.database.query(
            `INSERT INTO subscriptions (instrument_token, status, source) VALUES ($1, 'active', 'event')`,
            [token],
          );
        }
        // The ticker agrees, so the reconciliation at the start of the cycle changes nothing.
        stub.subscriptions = instruments.map(([token]) => token);
        expect(await cycle(app)).toMatchObject({ ran: true, jobsEnqueued: 3 });
        expect(await swept(app)).toEqual([803, 804, 805]);
      } finally {
        stub.subscriptions = [];
        await app.close();
      }
    });
  });

  it('deletes finished job records past BACKFILL_JOB_RETENTION_DAYS in the cycle, and nothing else', async () => {
    const app = await startTestApp({ clock, env: env({ BACKFILL_JOB_RETENTION_DAYS: '14' }) });
    try {
      // 15 days ago and 13 days ago, in every state; the pending ones are never deleted.
      await app.database.query(
        `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, requested_at, finished_at)
         SELECT 'old-' || s || '-' || n, 900, 'sweep', t - interval '1 hour', t, s, t,
                CASE WHEN s IN ('queued', 'running') THEN NULL ELSE t END
           FROM unnest(ARRAY['succeeded', 'failed', 'skipped', 'cancelled', 'queued', 'running']) AS s,
                generate_series(1, 3) AS n,
                (SELECT $1::timestamptz - interval '15 days' AS t) AS old
         UNION ALL
         SELECT 'recent-' || s, 900, 'sweep', t - interval '1 hour', t, s, t, t
           FROM unnest(ARRAY['succeeded', 'failed']) AS s,
                (SELECT $1::timestamptz - interval '13 days' AS t) AS recent`,
        [NOW],
      );
      const result = await cycle(app);
      expect(result).toMatchObject({ ran: true, recordsPruned: 12 });
      const left = await app.database.query<{ id: string }>(`SELECT id FROM backfill_jobs ORDER BY id`);
      expect(left.map((row) => row.id)).toEqual([
        'old-queued-1',
        'old-queued-2',
        'old-queued-3',
        'old-running-1',
        'old-running-2',
        'old-running-3',
        'recent-failed',
        'recent-succeeded',
      ]);
      const metrics = await request(app.url).get('/metrics').expect(200);
      expect(metrics.text).toContain('backfill_job_records_pruned_total 12');
    } finally {
      await app.close();
    }
  });

  it('counts matching records up to 10,000 when listing, and says so', async () => {
    const app = await startTestApp({ clock, env: env() });
    try {
      await app.database.query(
        `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, requested_at, finished_at)
         SELECT 'bulk-' || n, 1000 + n % 7, 'sweep', $1::timestamptz - interval '1 hour', $1::timestamptz,
                CASE WHEN n <= 3 THEN 'failed' ELSE 'succeeded' END,
                $1::timestamptz - make_interval(secs => n), $1::timestamptz
           FROM generate_series(1, 10050) AS n`,
        [NOW],
      );
      const all = await request(app.url).get('/api/v1/backfill/jobs').query({ limit: 2 }).expect(200);
      expect(all.body).toMatchObject({ total: 10_000, total_capped: true, limit: 2, offset: 0 });
      expect(all.body.jobs.map((job: { id: string }) => job.id)).toEqual(['bulk-1', 'bulk-2']);
      const failed = await request(app.url)
        .get('/api/v1/backfill/jobs')
        .query({ state: 'failed' })
        .expect(200);
      expect(failed.body).toMatchObject({ total: 3, total_capped: false });
      expect(failed.body.jobs).toHaveLength(3);
      const doc = await request(app.url).get('/docs-json').expect(200);
      expect(Object.keys(doc.body.components.schemas.BackfillJobListDto.properties)).toContain(
        'total_capped',
      );
    } finally {
      await app.close();
    }
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
      const [{ jobIds }] = await app.app
        .get<BackfillRequester>(BACKFILL_REQUESTER)
        .request([{ instrumentToken: 950, trigger: 'event', requestedAt: clock.now() }]);
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
