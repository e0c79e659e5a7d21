import { DataSource } from 'typeorm';
import { ConfigValidationError, loadConfig } from '../config/config.loader';
import { dataSourceOptions } from './data-source';
import { migrateUnderLock } from './database.module';

// `npm run migration:run` and the Kubernetes init container: applies pending migrations to
// DATABASE_URL, read like the service reads it, under the same advisory lock as DB_MIGRATE_ON_BOOT,
// so replicas starting together migrate once.
async function main(): Promise<void> {
  const config = loadConfig();
  // Two connections: one holds the lock while the other applies the migrations.
  const dataSource = new DataSource({ ...dataSourceOptions(config), poolSize: 2 });
  await dataSource.initialize();
  try {
    const applied = await migrateUnderLock(dataSource);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigValidationError ? error.message : String((error as Error).stack ?? error)}\n`,
  );
  process.exit(1);
});
