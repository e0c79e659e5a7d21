import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where each field of an instrument came from (`{"expiry": "tradingsymbol", "lot_size": "tick"}`),
 * so that a weaker source (a value derived from the tradingsymbol) never replaces a stronger one (a
 * tick's own field). Rows written before have none recorded: any source may replace them once.
 */
export class InstrumentSources1764300000600 implements MigrationInterface {
  name = 'InstrumentSources1764300000600';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE instruments ADD COLUMN IF NOT EXISTS described_by jsonb NOT NULL DEFAULT '{}'::jsonb`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE instruments DROP COLUMN IF EXISTS described_by`);
  }
}
