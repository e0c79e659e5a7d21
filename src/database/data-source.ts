import { DataSource } from 'typeorm';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { AppConfig } from '../config/app-config';
import { MIGRATIONS } from './migrations';

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

export async function runMigrations(
  config: Pick<AppConfig, 'DATABASE_URL' | 'DB_POOL_SIZE'>,
): Promise<string[]> {
  const dataSource = new DataSource({ ...dataSourceOptions(config), poolSize: 1 });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}
