import { DataSource } from 'typeorm';
import { BackfillCoverageRepository } from '../../src/backfill/backfill-coverage.repository';
import { BackfillJobsRepository } from '../../src/backfill/backfill-jobs.repository';
import { SweepCandidatesService } from '../../src/backfill/sweep-candidates.service';
import { UnsupportedInstrumentsRepository } from '../../src/backfill/unsupported-instruments.repository';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { InstrumentsRepository } from '../../src/market-data/instruments.repository';
import { SubscriptionsRepository } from '../../src/subscriptions-store/subscriptions.repository';
import { createTestDatabase, TestDatabase } from '../support/database';

// Thursday 2026-11-26 10:00 IST.
const NOW = new Date('2026-11-26T04:30:00.000Z');
const TODAY = '2026-11-26';

/**
 * The instruments a scheduled cycle looks after, read from each table through its own repository:
 * active subscriptions (or every known instrument), minus contracts expired before today, instruments
 * parked as unsupported and those with recent work pending, stalest first.
 */
describe('SweepCandidatesService', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let candidates: SweepCandidatesService;

  beforeAll(async () => {
    db = await createTestDatabase();
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    dataSource = await new DataSource(
      dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 2 }),
    ).initialize();
    candidates = new SweepCandidatesService(
      new SubscriptionsRepository(dataSource),
      new InstrumentsRepository(dataSource),
      new UnsupportedInstrumentsRepository(dataSource),
      new BackfillJobsRepository(dataSource),
      new BackfillCoverageRepository(dataSource),
    );
    const q = (sql: string, params: unknown[] = []) => dataSource.query(sql, params);
    // Every subscription refers to an instrument row (a foreign key); its expiry may be unknown.
    await q(
      `INSERT INTO instruments (instrument_token, expiry) VALUES
         (1, NULL), (2, '2026-11-20'), (3, '2026-11-26'), (4, NULL), (5, NULL), (6, NULL), (7, NULL),
         (8, NULL), (9, NULL)`,
    );
    for (const token of [1, 2, 3, 4, 5, 6, 7])
      await q(`INSERT INTO subscriptions (instrument_token, status, source) VALUES ($1, 'active', 'event')`, [
        token,
      ]);
    await q(`INSERT INTO subscriptions (instrument_token, status, source) VALUES (8, 'inactive', 'event')`);
    await q(
      `INSERT INTO unsupported_instruments (instrument_token, reason, expires_at) VALUES
         (5, 'unknown token', $1::timestamptz + interval '1 hour'),
         (6, 'unknown token', $1::timestamptz - interval '1 minute')`,
      [NOW],
    );
    await q(
      `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, requested_at) VALUES
         ('bf-7', 7, 'sweep', $1::timestamptz - interval '1 day', $1, 'queued', $1::timestamptz - interval '10 minutes'),
         ('bf-4', 4, 'sweep', $1::timestamptz - interval '1 day', $1, 'queued', $1::timestamptz - interval '2 hours')`,
      [NOW],
    );
    await q(
      `INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles, job_id, fetched_at) VALUES
         (3, '2026-11-25T03:45Z', '2026-11-25T10:00Z', 375, 'bf-3', $1),
         (6, '2026-11-24T03:45Z', '2026-11-24T10:00Z', 375, 'bf-6', $1),
         (4, '2026-11-23T03:45Z', '2026-11-23T10:00Z', 375, 'bf-4a', $1),
         (4, '2026-11-26T03:45Z', '2026-11-26T04:00Z', 15, 'bf-4b', $1)`,
      [NOW],
    );
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('takes the active subscriptions, skipping expired, parked and pending ones, stalest first', async () => {
    // 2 expired, 5 parked, 7 pending, 8 unsubscribed; 4's pending record is older than the horizon.
    expect(await candidates.byStaleness(true, NOW, TODAY)).toEqual([1, 6, 3, 4]);
  });

  it('takes every known instrument when not subscription-aware', async () => {
    expect(await candidates.byStaleness(false, NOW, TODAY)).toEqual([1, 8, 9, 6, 3, 4]);
  });
});
