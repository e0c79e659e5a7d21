import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { migrateUnderLock } from './database.module';
import { withTimeout } from '../common/with-timeout';

export interface StorageMode {
  timescaledb: boolean;
  version?: string;
}

/** Owns schema migration at boot and knows whether TimescaleDB features are in use. */
@Injectable()
export class DatabaseService implements OnModuleInit {
  private readonly logger = new Logger(DatabaseService.name);
  private mode: StorageMode = { timescaledb: false };

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.DB_MIGRATE_ON_BOOT) {
      const applied = await migrateUnderLock(this.dataSource);
      this.logger.log(applied.length ? `applied migrations: ${applied.join(', ')}` : 'schema is up to date');
    }
    const rows: { extversion: string }[] = await this.dataSource.query(
      `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`,
    );
    this.mode = rows.length > 0 ? { timescaledb: true, version: rows[0].extversion } : { timescaledb: false };
    this.logger.log(
      this.mode.timescaledb
        ? `storage mode: TimescaleDB ${this.mode.version} (candles_1m is a compressed hypertable)`
        : 'storage mode: plain PostgreSQL (TimescaleDB extension not installed; same tables, no compression or continuous aggregates)',
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
