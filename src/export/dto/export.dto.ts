import { ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { IsCalendarDate } from '../../common/validation';
import { CANDLE_COLUMNS } from '../../market-data/candles-query.repository';
import { CandlesQueryDto } from '../../market-data/dto/candles.dto';

export const EXPORT_FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The columns of an exported file, in order; greeks are empty (CSV) or null (Parquet) where unknown. */
export const EXPORT_COLUMNS = ['instrument_token', ...CANDLE_COLUMNS] as const;

/** from, to and interval exactly as the candles API reads them (same validation, same defaults). */
export class ExportCandlesQueryDto extends PickType(CandlesQueryDto, ['from', 'to', 'interval'] as const) {
  @ApiPropertyOptional({
    type: String,
    pattern: '^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15})*$',
    example: '333765378,1091680770',
    description:
      'Instrument tokens, comma-separated (at most EXPORT_MAX_INSTRUMENTS). With underlying and/or expiry: only those of the tokens that are of them',
  })
  @IsOptional()
  @Matches(/^[1-9][0-9]{0,15}(,[1-9][0-9]{0,15})*$/, {
    message: 'tokens must be instrument tokens separated by commas, e.g. 333765378,1091680770',
  })
  tokens?: string;

  @ApiPropertyOptional({
    type: String,
    pattern: '^[A-Za-z][A-Za-z0-9&_-]{0,29}$',
    example: 'NIFTY',
    description: 'Every instrument of this underlying (options and futures; any case)',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @Matches(/^[A-Z][A-Z0-9&_-]{0,29}$/, { message: 'underlying must be a symbol such as NIFTY' })
  underlying?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date',
    example: '2025-11-25',
    description: 'Every instrument expiring on this date (YYYY-MM-DD), with underlying or alone',
  })
  @IsOptional()
  @IsCalendarDate()
  expiry?: string;

  @ApiPropertyOptional({
    enum: EXPORT_FORMATS,
    default: 'csv',
    description:
      'csv: text/csv with a header line, times ISO-8601 UTC, empty where unknown. parquet: ' +
      'application/vnd.apache.parquet, zstd, time as TIMESTAMP(MILLIS, UTC), prices and greeks DOUBLE, ' +
      'instrument_token, volume and oi INT64',
  })
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format: ExportFormat = 'csv';
}
