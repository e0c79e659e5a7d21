import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the bounded upkeep of `backfill_jobs`: the retention delete (finished records by age),
 * the comparison of pending records with the queue (by last change), and the newest-first listing.
 * Plain B-tree indexes, the same on PostgreSQL and TimescaleDB; idempotent.
 */
export class BackfillJobIndexes1764300000200 implements MigrationInterface {
  name = 'BackfillJobIndexes1764300000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_jobs_finished_idx ON backfill_jobs (finished_at)
        WHERE state IN ('succeeded', 'failed', 'skipped', 'cancelled')`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_jobs_pending_idx ON backfill_jobs (updated_at)
        WHERE state IN ('queued', 'running')`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_jobs_requested_idx ON backfill_jobs (requested_at DESC, id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'backfill_jobs_requested_idx',
      'backfill_jobs_pending_idx',
      'backfill_jobs_finished_idx',
    ])
      await q.query(`DROP INDEX IF EXISTS ${index}`);
  }
}
