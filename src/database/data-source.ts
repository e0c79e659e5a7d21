import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { AppConfig } from '../config/app-config';
import { DeadlineClient } from './deadline-client';
import { MIGRATIONS } from './migrations';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** How much longer than the server's statement timeout the client waits for any answer at all. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;
/** First TCP keepalive probe of an idle connection: a peer gone without a word is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;

type ConnectionSettings = Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> &
  Partial<Pick<AppConfig, 'DB_QUERY_TIMEOUT_MS'>>;

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
    migrationsTransactionMode: 'each',
    entities: [],
    poolSize: config.DB_POOL_SIZE,
    extra: {
      connectionTimeoutMillis: 5000,
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

/**
 * The same database without query timeouts, for migrations: a migration (a hypertable conversion of a
 * large table) and the wait for another replica's migration lock may rightly take minutes.
 */
export function migrationDataSource(databaseUrl: string, poolSize = 1): DataSource {
  return new DataSource(dataSourceOptions({ DATABASE_URL: databaseUrl, DB_POOL_SIZE: poolSize }));
}

export async function runMigrations(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'>,
): Promise<string[]> {
  const dataSource = migrationDataSource(config.DATABASE_URL);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
