import { MigrationInterface, QueryRunner } from 'typeorm';
import { TimescaleMigration, timescaleInstalled } from '../timescaledb';

/**
 * Turns `candles_1m` into a hypertable (1-day chunks, compression segmented by instrument) where the
 * timescaledb extension is installed, and does nothing on plain PostgreSQL. The extension itself is
 * installed before the migrations, by DB_TIMESCALEDB (src/database/schema.ts), which also sets the
 * compression policy from DB_COMPRESS_AFTER_DAYS. A database migrated on plain PostgreSQL gets
 * `upTimescale` replayed when TimescaleDB arrives later, with its rows (`migrate_data`).
 */
export class TimescaleDb1764300000001 implements MigrationInterface, TimescaleMigration {
  name = 'TimescaleDb1764300000001';

  async up(q: QueryRunner): Promise<void> {
    if (await timescaleInstalled(q)) await this.upTimescale(q);
  }

  async upTimescale(q: QueryRunner): Promise<void> {
    await q.query(
      `SELECT create_hypertable('candles_1m', 'time', chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE, migrate_data => TRUE)`,
    );
    // Compression settings cannot change once chunks are compressed: set them only the first time.
    const [{ compressed }]: { compressed: boolean }[] = await q.query(
      `SELECT compression_enabled AS compressed FROM timescaledb_information.hypertables
        WHERE hypertable_schema = current_schema() AND hypertable_name = 'candles_1m'`,
    );
    if (!compressed)
      await q.query(
        `ALTER TABLE candles_1m SET (timescaledb.compress, timescaledb.compress_segmentby = 'instrument_token', timescaledb.compress_orderby = 'time')`,
      );
  }

  async down(q: QueryRunner): Promise<void> {
    if (!(await timescaleInstalled(q))) return;
    await q.query(`SELECT remove_compression_policy('candles_1m', if_exists => TRUE)`);
  }
}
