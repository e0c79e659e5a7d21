import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

/** Export (GET /api/v1/export/candles): streamed from a cursor, never held whole in memory. */
export class ExportSettings {
  /** Instruments one export may select (a whole chain of an underlying is a few thousand). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100_000)
  EXPORT_MAX_INSTRUMENTS = 10_000;

  /** Longest window of an export, in days, at intervals whose candles API allows less (1m: 31). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3660)
  EXPORT_MAX_RANGE_DAYS = 366;

  /** An export still running after this is cut off (server and client side): it holds a read connection. */
  @Transform(toNumber)
  @IsInt()
  @Min(10_000)
  @Max(86_400_000)
  EXPORT_TIMEOUT_MS = 1_800_000;

  /** Rows fetched from the cursor at a time (one round trip each; 1,000 measured as fast as 5,000 or 10,000). */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(100_000)
  EXPORT_FETCH_ROWS = 1000;

  /** Rows per Parquet row group: the writer holds one row group in memory. */
  @Transform(toNumber)
  @IsInt()
  @Min(1000)
  @Max(1_000_000)
  EXPORT_PARQUET_ROW_GROUP_ROWS = 100_000;
}

export const exportConfig = settingsNamespace('export', ExportSettings);
export type ExportConfig = ConfigType<typeof exportConfig>;
