import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsUrl, Max, Min } from 'class-validator';
import { BOOLEAN, toBoolean, toNumber, URL_OPTIONS } from '../config/setting-rules';
import { Secret, settingsNamespace } from '../config/settings';

export const TIMESCALEDB_SETTINGS = ['auto', 'require', 'off'] as const;
export type TimescaleDbSetting = (typeof TIMESCALEDB_SETTINGS)[number];

/** PostgreSQL: the connections, their pools and bounds, the migrations and the TimescaleDB storage mode. */
export class DatabaseSettings {
  @Secret()
  @IsUrl({ ...URL_OPTIONS, protocols: ['postgres', 'postgresql'] })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/marketdata';

  /**
   * PostgreSQL for the read API (REST GET routes and the UDF datafeed): a read replica where one
   * primary is not enough; unset, the primary (DATABASE_URL). Everything that decides or does work
   * (the stream, the backfill, job records, subscriptions, planning's coverage reads) stays on the
   * primary.
   */
  @Secret()
  @IsOptional()
  @IsUrl({ ...URL_OPTIONS, protocols: ['postgres', 'postgresql'] })
  DATABASE_READ_URL?: string;

  /** Connections per replica of the ingestion pool (stream, backfill, job records, events, planning). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  /** Connections per replica of the read API's pool (DATABASE_READ_URL); never shared with ingestion. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_READ_POOL_SIZE = 10;

  /**
   * No database query waits longer: the server cancels a statement (and ends a transaction left
   * idle) after this long, and the client gives up 2 s later when the server does not answer at all.
   * Migrations run without it.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(500)
  @Max(600_000)
  DB_QUERY_TIMEOUT_MS = 30_000;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  DB_MIGRATE_ON_BOOT = false;

  // TimescaleDB: storage mode and compression (applied with the migrations, see README "Storage").

  /**
   * auto: TimescaleDB where the server can load it, plain tables with one warning where it is
   * installed but not preloaded; require: refuse to boot without it; off: plain tables even where
   * it is available (a database that already has the extension keeps it).
   */
  @IsIn(TIMESCALEDB_SETTINGS)
  DB_TIMESCALEDB: TimescaleDbSetting = 'auto';

  /**
   * Chunks of candles_1m whose minutes are older than this many days are compressed. Past the
   * routine backfill (BACKFILL_LOOKBACK_SESSIONS) and the stream, so only manual backfills of older
   * windows write into compressed chunks (supported, and slower: docs/PERFORMANCE.md).
   */
  @Transform(toNumber)
  @IsInt()
  @Min(7)
  @Max(3660)
  DB_COMPRESS_AFTER_DAYS = 30;
}

export const databaseConfig = settingsNamespace('database', DatabaseSettings);
export type DatabaseConfig = ConfigType<typeof databaseConfig>;
