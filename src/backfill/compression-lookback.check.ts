import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { databaseConfig, DatabaseConfig } from '../database/database.config';
import { compressionLookbackWarning } from '../database/timescaledb';
import { backfillConfig, BackfillConfig } from './backfill.config';

/**
 * Warns at boot when TimescaleDB's compression would reach into the minutes the scheduled backfill
 * re-fetches. The backfill owns its lookback, so the check lives here rather than in the database
 * module, which knows nothing of the backfill; the database module has run its migrations and knows
 * the storage mode by the time this module starts.
 */
@Injectable()
export class CompressionLookbackCheck implements OnModuleInit {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly database: DatabaseService,
    @Inject(databaseConfig.KEY) private readonly databaseSettings: DatabaseConfig,
    @Inject(backfillConfig.KEY) private readonly backfillSettings: BackfillConfig,
  ) {}

  onModuleInit(): void {
    if (!this.database.storageMode.timescaledb) return;
    const warning = compressionLookbackWarning({
      DB_COMPRESS_AFTER_DAYS: this.databaseSettings.DB_COMPRESS_AFTER_DAYS,
      BACKFILL_LOOKBACK_SESSIONS: this.backfillSettings.BACKFILL_LOOKBACK_SESSIONS,
    });
    if (warning) this.logger.warn(warning);
  }
}
