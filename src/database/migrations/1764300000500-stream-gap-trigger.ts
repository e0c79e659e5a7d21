import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backfills of the minutes the tick stream missed have a trigger of their own (`stream_gap`) instead
 * of borrowing the sweep's. The trigger check of `backfill_jobs` takes it; idempotent.
 */
export class StreamGapTrigger1764300000500 implements MigrationInterface {
  name = 'StreamGapTrigger1764300000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backfill_jobs DROP CONSTRAINT IF EXISTS backfill_jobs_trigger_check`);
    await q.query(
      `ALTER TABLE backfill_jobs ADD CONSTRAINT backfill_jobs_trigger_check
         CHECK (trigger IN ('event', 'manual', 'reconcile', 'stream_gap', 'sweep'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE backfill_jobs SET trigger = 'sweep' WHERE trigger = 'stream_gap'`);
    await q.query(`ALTER TABLE backfill_jobs DROP CONSTRAINT IF EXISTS backfill_jobs_trigger_check`);
    await q.query(
      `ALTER TABLE backfill_jobs ADD CONSTRAINT backfill_jobs_trigger_check
         CHECK (trigger IN ('event', 'reconcile', 'sweep', 'manual'))`,
    );
  }
}
