import { MigrationInterface, QueryRunner } from 'typeorm';

/** Whether the timescaledb extension can be (or is) installed in this database. */
export async function timescaleAvailable(q: { query: QueryRunner['query'] }): Promise<boolean> {
  const rows: unknown[] = await q.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  return rows.length > 0;
}

/**
 * Turns `candles_1m` into a compressed hypertable where TimescaleDB exists and does nothing on plain
 * PostgreSQL. Compression starts at 30 days, far beyond the backfill horizon (a few sessions), so the
 * backfill never has to write into compressed chunks.
 */
export class TimescaleDb1764300000001 implements MigrationInterface {
  name = 'TimescaleDb1764300000001';

  async up(q: QueryRunner): Promise<void> {
    if (!(await timescaleAvailable(q))) return;
    await q.query(`CREATE EXTENSION IF NOT EXISTS timescaledb`);
    await q.query(
      `SELECT create_hypertable('candles_1m', 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE, migrate_data => TRUE)`,
    );
    await q.query(
      `ALTER TABLE candles_1m SET (timescaledb.compress, timescaledb.compress_segmentby = 'instrument_token', timescaledb.compress_orderby = 'time')`,
    );
    await q.query(`SELECT add_compression_policy('candles_1m', INTERVAL '30 days', if_not_exists => TRUE)`);
  }

  async down(q: QueryRunner): Promise<void> {
    if (!(await timescaleAvailable(q))) return;
    await q.query(`SELECT remove_compression_policy('candles_1m', if_exists => TRUE)`);
  }
}
