import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig, DatabaseConfig } from './database.config';
import { migrateSchema } from './data-source';
import { prepareSchema, StorageMode } from './schema';
import { withTimeout } from '../common/with-timeout';

export type { StorageMode } from './schema';

/** Owns schema migration at boot and knows whether TimescaleDB features are in use. */
@Injectable()
export class DatabaseService implements OnModuleInit {
  private readonly logger = new Logger(DatabaseService.name);
  private mode: StorageMode = { timescaledb: false, aggregates: [] };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(databaseConfig.KEY) private readonly config: DatabaseConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const migrate = this.config.DB_MIGRATE_ON_BOOT;
    // Migrations (and the wait for another replica's migration lock) may rightly take minutes: they
    // run on a connection of their own, without the service's DB_QUERY_TIMEOUT_MS, as the command does.
    const outcome = migrate
      ? await migrateSchema(this.config)
      : await prepareSchema(this.dataSource, this.config, { migrate });
    if (migrate)
      this.logger.log(
        outcome.applied.length ? `applied migrations: ${outcome.applied.join(', ')}` : 'schema is up to date',
      );
    for (const action of outcome.actions) this.logger.log(action);
    this.mode = outcome.mode;
    for (const warning of outcome.warnings) this.logger.warn(warning);
    this.logger.log(
      this.mode.timescaledb
        ? `storage mode: TimescaleDB ${this.mode.version} (candles_1m is a compressed hypertable; continuous aggregates: ${this.mode.aggregates.join(', ') || 'none'})`
        : `storage mode: plain PostgreSQL (${this.mode.reason ?? 'no TimescaleDB'}; same tables, no compression or continuous aggregates)`,
    );
  }

  get storageMode(): StorageMode {
    return this.mode;
  }

  /** Round trip with a deadline, for readiness. */
  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(this.dataSource.query('SELECT 1'), timeoutMs, 'database');
  }
}
