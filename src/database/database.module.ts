import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import { dataSourceOptions, migrationDataSource } from './data-source';
import { DatabaseService } from './database.service';

// Any key works; it only has to be the same for every replica migrating at boot.
const MIGRATION_LOCK_KEY = 7_231_001;

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config),
        migrationsRun: false,
        retryAttempts: 3,
        retryDelay: 1000,
      }),
    }),
  ],
  providers: [DatabaseService],
  exports: [DatabaseService],
})
export class DatabaseModule {}

/**
 * Runs pending migrations under an advisory lock, so replicas booting together migrate once. On
 * connections of their own without the service's query timeouts: waiting for another replica's
 * migration, or a long migration, is not a hung database.
 */
export async function migrateUnderLock(dataSource: DataSource): Promise<string[]> {
  const url = (dataSource.options as PostgresConnectionOptions).url;
  if (!url) throw new Error('the data source has no url to migrate');
  // One connection holds the lock, the other runs the migrations.
  const migrator = migrationDataSource(url, 2);
  await migrator.initialize();
  const runner = migrator.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await migrator.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
    await migrator.destroy();
  }
}
