import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { DatabaseConfig, DatabaseSettings } from './database.config';
import { DeadlineClient } from './deadline-client';
import { MIGRATIONS } from './migrations';
import { prepareSchema, SchemaOutcome, SchemaSettings } from './schema';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** How much longer than the server's statement timeout the client waits for any answer at all. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;
/** First TCP keepalive probe of an idle connection: a peer gone without a word is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;

/** The read API's TypeORM data source (`@InjectDataSource(READ_DATA_SOURCE)`); the default one ingests. */
export const READ_DATA_SOURCE = 'read';
/**
 * How long a read waits for a connection of its pool. Admission control keeps the reads in flight
 * near the pool's size, so a longer wait means the database does not take connections: the read is
 * answered 503 within 2 s instead of after the ingestion pool's 5 s.
 */
export const READ_CONNECT_TIMEOUT_MS = 1500;
const CONNECT_TIMEOUT_MS = 5000;

type ConnectionSettings = Pick<DatabaseConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> &
  Partial<Pick<DatabaseConfig, 'DB_QUERY_TIMEOUT_MS'>> & {
    /** `application_name` of the connections, which pg_stat_activity shows per pool. */
    applicationName?: string;
    connectTimeoutMs?: number;
  };

/**
 * TypeORM options shared by the service and the migration command. Schema comes from migrations only.
 * With `DB_QUERY_TIMEOUT_MS`, no query waits longer than that: the server cancels a statement (and
 * ends a transaction left idle) after it, and when the server does not answer at all (hung, or a
 * network that swallows the bytes) the client gives up a little later and drops the connection.
 */
export function dataSourceOptions(config: ConnectionSettings): PostgresConnectionOptions {
  const timeoutMs = config.DB_QUERY_TIMEOUT_MS;
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    synchronize: false,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // One transaction for all pending migrations, as at boot (see applyMigrations in schema.ts).
    migrationsTransactionMode: 'all',
    entities: [],
    poolSize: config.DB_POOL_SIZE,
    ...(config.applicationName ? { applicationName: config.applicationName } : {}),
    extra: {
      connectionTimeoutMillis: config.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      // The service stores and compares UTC instants only; IST appears at the edges.
      options: '-c timezone=UTC',
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      ...(timeoutMs
        ? {
            Client: DeadlineClient,
            statement_timeout: timeoutMs,
            idle_in_transaction_session_timeout: timeoutMs,
            query_timeout: timeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
          }
        : {}),
    },
  };
}

/** The ingestion pool: the stream, the backfill, job records, subscriptions, planning; on the primary. */
export function ingestionDataSourceOptions(config: DatabaseConfig): PostgresConnectionOptions {
  return dataSourceOptions({ ...config, applicationName: 'mds-ingest' });
}

/**
 * The read API's pool, on DATABASE_READ_URL (a read replica) or else the primary: its own
 * connections, so a storm of reads never takes those ingestion needs. No migrations run through it.
 */
export function readDataSourceOptions(config: DatabaseConfig): PostgresConnectionOptions {
  return {
    ...dataSourceOptions({
      DATABASE_URL: config.DATABASE_READ_URL ?? config.DATABASE_URL,
      DB_POOL_SIZE: config.DB_READ_POOL_SIZE,
      DB_QUERY_TIMEOUT_MS: config.DB_QUERY_TIMEOUT_MS,
      applicationName: 'mds-read',
      connectTimeoutMs: READ_CONNECT_TIMEOUT_MS,
    }),
    migrations: [],
  };
}

/**
 * The same database without query timeouts, for migrations: a migration (a hypertable conversion of a
 * large table) and the wait for another replica's migration lock may rightly take minutes.
 */
export function migrationDataSource(databaseUrl: string, poolSize = 1): DataSource {
  return new DataSource(dataSourceOptions({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: poolSize }));
}

/**
 * `npm run migration:run` and the tests: pending migrations, then the storage mode of
 * DB_TIMESCALEDB (TimescaleDB installed, a plain database converted, the compression policy set),
 * exactly as the service does at boot with DB_MIGRATE_ON_BOOT. Returns the migrations applied.
 */
export async function runMigrations(
  config: Pick<DatabaseConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> & Partial<SchemaSettings>,
): Promise<string[]> {
  return (await migrateSchema(config)).applied;
}

export async function migrateSchema(
  config: Pick<DatabaseConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> & Partial<SchemaSettings>,
): Promise<SchemaOutcome> {
  const dataSource = migrationDataSource(config.DATABASE_URL);
  await dataSource.initialize();
  try {
    const defaults = new DatabaseSettings();
    return await prepareSchema(
      dataSource,
      {
        DB_TIMESCALEDB: config.DB_TIMESCALEDB ?? defaults.DB_TIMESCALEDB,
        DB_COMPRESS_AFTER_DAYS: config.DB_COMPRESS_AFTER_DAYS ?? defaults.DB_COMPRESS_AFTER_DAYS,
      },
      { migrate: true },
    );
  } finally {
    await dataSource.destroy();
  }
}
