import { runMigrations } from '../../src/database/data-source';
import { createTestDatabase, TestDatabase } from '../support/database';

describe('migrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  const schema = async (): Promise<string[]> =>
    (
      await db.query<{ line: string }>(
        `SELECT table_name || '.' || column_name || ':' || data_type || ':' || is_nullable AS line
           FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      )
    ).map((row) => row.line);

  it('builds the schema on a fresh database and changes nothing when run again', async () => {
    const first = await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    expect(first).toEqual(['InitialSchema1764300000000', 'TimescaleDb1764300000001', ...first.slice(2)]);
    const before = await schema();
    expect(before).toEqual(
      expect.arrayContaining([
        'candles_1m.time:timestamp with time zone:NO',
        'candles_1m.oi:bigint:YES',
        'candles_1m.delta:double precision:YES',
        'candles_1m.source:text:NO',
        'subscriptions.status:text:NO',
        'backfill_jobs.trigger:text:NO',
        'backfill_coverage.covered_from:timestamp with time zone:NO',
        'unsupported_instruments.expires_at:timestamp with time zone:NO',
        'instruments.expiry:date:YES',
      ]),
    );

    const second = await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    expect(second).toEqual([]);
    expect(await schema()).toEqual(before);
  });

  it('keys candles_1m by (instrument_token, time)', async () => {
    const rows = await db.query<{ column_name: string }>(
      `SELECT a.attname AS column_name
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = 'candles_1m'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`,
    );
    expect(rows.map((r) => r.column_name)).toEqual(['instrument_token', 'time']);
  });

  it('makes candles_1m a hypertable exactly when the server can load TimescaleDB (DB_TIMESCALEDB=auto)', async () => {
    // Available and preloaded: the loader defines this setting only from shared_preload_libraries.
    const [{ available }] = await db.query<{ available: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
          AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.bgw_launcher_poll_time') AS available`,
    );
    const [{ installed }] = await db.query<{ installed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed`,
    );
    expect(installed).toBe(available);
    if (available) {
      const hypertables = await db.query(
        `SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'candles_1m'`,
      );
      expect(hypertables).toHaveLength(1);
    } else {
      // Plain PostgreSQL: an ordinary table, no inheritance children or partitions.
      const [{ relkind }] = await db.query<{ relkind: string }>(
        `SELECT relkind FROM pg_class WHERE relname = 'candles_1m'`,
      );
      expect(relkind).toBe('r');
    }
  });
});
