import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { AppConfig } from '../config/app-config';
import { MIGRATIONS } from './migrations';
import { prepareSchema, SchemaOutcome, SchemaSettings } from './schema';

export const MIGRATIONS_TABLE = 'schema_migrations';

/** TypeORM options shared by the service and the migration command. Schema comes from migrations only. */
export function dataSourceOptions(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'>,
): PostgresConnectionOptions {
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
    },
  };
}

/**
 * `npm run migration:run` and the tests: pending migrations, then the storage mode of
 * DB_TIMESCALEDB (TimescaleDB installed, a plain database converted, the compression policy set),
 * exactly as the service does at boot with DB_MIGRATE_ON_BOOT. Returns the migrations applied.
 */
export async function runMigrations(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> & Partial<SchemaSettings>,
): Promise<string[]> {
  return (await migrateSchema(config)).applied;
}

export async function migrateSchema(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'> & Partial<SchemaSettings>,
): Promise<SchemaOutcome> {
  const dataSource = new DataSource({ ...dataSourceOptions(config), poolSize: 1 });
  await dataSource.initialize();
  try {
    const defaults = new AppConfig();
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
