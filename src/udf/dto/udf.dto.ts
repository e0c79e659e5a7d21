import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';
import { FieldErrorDto } from '../../common/http-error.dto';
import { IntegerParam } from '../../common/validation';
import { UDF_ACCEPTED_RESOLUTIONS, UDF_RESOLUTIONS, UdfResolution } from '../udf-format';

/** 2100-01-01T00:00:00Z: a bound far past any candle, well inside what PostgreSQL and JS dates hold. */
export const UDF_MAX_EPOCH_SECONDS = 4_102_444_800;
export const UDF_MAX_COUNTBACK = 10_000;
export const UDF_MAX_SEARCH_LIMIT = 100;
export const UDF_SYMBOL_TYPES = ['option', 'futures', 'index', 'stock'] as const;
export type UdfSymbolType = (typeof UDF_SYMBOL_TYPES)[number];
export const UDF_EXCHANGES = ['NFO', 'NSE'] as const;

// A tradingsymbol ("NIFTY25NOV24500CE", "NIFTY 50"), optionally after "EXCHANGE:", or a token.
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9 &_.:-]*$/;
const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export class UdfSymbolQueryDto {
  @ApiProperty({
    example: 'NIFTY25NOV24500CE',
    description: 'Tradingsymbol, `EXCHANGE:tradingsymbol`, or the instrument token (the `ticker`)',
    maxLength: 64,
  })
  @Transform(trim)
  @IsString()
  @MaxLength(64)
  @Matches(SYMBOL, { message: 'symbol must be a tradingsymbol or an instrument token' })
  symbol!: string;
}

export class UdfSearchQueryDto {
  @ApiPropertyOptional({
    type: String,
    example: 'NIFTY25NOV245',
    description: 'Part of the tradingsymbol',
    maxLength: 64,
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(64)
  @Matches(/^[\x20-\x7E]*$/, { message: 'query must be printable ASCII' })
  query = '';

  @ApiPropertyOptional({ enum: ['', ...UDF_SYMBOL_TYPES], description: 'Empty for all' })
  @IsOptional()
  @IsIn(['', ...UDF_SYMBOL_TYPES])
  type?: '' | UdfSymbolType;

  @ApiPropertyOptional({ enum: ['', ...UDF_EXCHANGES], description: 'Empty for all' })
  @IsOptional()
  @IsIn(['', ...UDF_EXCHANGES])
  exchange?: '' | (typeof UDF_EXCHANGES)[number];

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: UDF_MAX_SEARCH_LIMIT,
    default: 30,
    example: 30,
  })
  @IsOptional()
  @IntegerParam(1, UDF_MAX_SEARCH_LIMIT)
  limit = 30;
}

export class UdfHistoryQueryDto extends UdfSymbolQueryDto {
  @ApiProperty({ enum: UDF_ACCEPTED_RESOLUTIONS, example: '5', description: '`D` is read as `1D`' })
  @IsIn(UDF_ACCEPTED_RESOLUTIONS)
  resolution!: UdfResolution;

  @ApiPropertyOptional({
    type: 'integer',
    example: 1762227900,
    minimum: 0,
    maximum: UDF_MAX_EPOCH_SECONDS,
    description: 'Leftmost bar, inclusive (epoch seconds). Required without countback; ignored with it.',
  })
  @ValidateIf((query: UdfHistoryQueryDto) => query.countback === undefined || query.from !== undefined)
  @IntegerParam(0, UDF_MAX_EPOCH_SECONDS)
  from?: number;

  @ApiProperty({
    type: 'integer',
    example: 1762250400,
    minimum: 0,
    maximum: UDF_MAX_EPOCH_SECONDS,
    description: 'Rightmost bar, exclusive (epoch seconds)',
  })
  @IntegerParam(0, UDF_MAX_EPOCH_SECONDS)
  to!: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: UDF_MAX_COUNTBACK,
    example: 300,
    description: 'Number of bars ending before `to`; takes precedence over `from`',
  })
  @IsOptional()
  @IntegerParam(1, UDF_MAX_COUNTBACK)
  countback?: number;

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    example: 'true',
    description:
      "The library's first request of a chart (`true`) or a later one; some copies of TradingView's UDF adapter forward it. Ignored.",
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  firstDataRequest?: 'true' | 'false';
}

class UdfExchangeDto {
  @ApiProperty() value!: string;
  @ApiProperty() name!: string;
  @ApiProperty() desc!: string;
}

class UdfSymbolTypeDto {
  @ApiProperty() name!: string;
  @ApiProperty() value!: string;
}

export class UdfConfigDto {
  @ApiProperty({ type: [String], example: [...UDF_RESOLUTIONS] }) supported_resolutions!: string[];
  @ApiProperty() supports_group_request!: boolean;
  @ApiProperty() supports_marks!: boolean;
  @ApiProperty() supports_search!: boolean;
  @ApiProperty() supports_timescale_marks!: boolean;
  @ApiProperty() supports_time!: boolean;
  @ApiProperty({ type: [UdfExchangeDto] }) exchanges!: UdfExchangeDto[];
  @ApiProperty({ type: [UdfSymbolTypeDto] }) symbols_types!: UdfSymbolTypeDto[];
}

export class UdfSymbolInfoDto {
  @ApiProperty({ example: 'NIFTY25NOV24500CE' }) name!: string;
  @ApiProperty({ example: '13660418', description: 'Instrument token: what history requests name' })
  ticker!: string;
  @ApiProperty({ example: 'NIFTY 2025-11-25 24500 CE' }) description!: string;
  @ApiProperty({ enum: UDF_SYMBOL_TYPES }) type!: UdfSymbolType;
  @ApiProperty({ example: '0915-1530', description: 'Regular session, exchange time zone' }) session!: string;
  @ApiProperty({ example: '20251105,20251225', description: 'Days without the regular session' })
  session_holidays!: string;
  @ApiProperty({ example: '', description: 'Dated sessions with their own hours: HHMM-HHMM:YYYYMMDD;...' })
  corrections!: string;
  @ApiProperty({ enum: UDF_EXCHANGES }) exchange!: string;
  @ApiProperty({ enum: UDF_EXCHANGES }) listed_exchange!: string;
  @ApiProperty({ example: 'Asia/Kolkata' }) timezone!: string;
  @ApiProperty({ example: 'price' }) format!: string;
  @ApiProperty({ example: 100, description: 'With minmov: the tick size is minmov / pricescale' })
  pricescale!: number;
  @ApiProperty({ example: 5 }) minmov!: number;
  @ApiProperty() has_intraday!: boolean;
  @ApiProperty() has_daily!: boolean;
  @ApiProperty() has_weekly_and_monthly!: boolean;
  @ApiProperty({ type: [String] }) supported_resolutions!: string[];
  @ApiProperty({ type: [String] }) intraday_multipliers!: string[];
  @ApiProperty({ type: [String] }) daily_multipliers!: string[];
  @ApiProperty() has_empty_bars!: boolean;
  @ApiProperty() volume_precision!: number;
  @ApiProperty({ example: 'streaming' }) data_status!: string;
  @ApiProperty({ example: 'ohlcv' }) visible_plots_set!: string;
}

export class UdfSearchResultDto {
  @ApiProperty({ example: 'NIFTY25NOV24500CE' }) symbol!: string;
  @ApiProperty({ example: 'NFO:NIFTY25NOV24500CE' }) full_name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ enum: UDF_EXCHANGES }) exchange!: string;
  @ApiProperty({ example: '13660418' }) ticker!: string;
  @ApiProperty({ enum: UDF_SYMBOL_TYPES }) type!: UdfSymbolType;
}

export class UdfHistoryDto {
  @ApiProperty({ enum: ['ok', 'no_data'] }) s!: 'ok' | 'no_data';
  @ApiPropertyOptional({ type: [Number], description: 'Bar times, epoch seconds (daily bars: 00:00 UTC)' })
  t?: number[];
  @ApiPropertyOptional({ type: [Number] }) o?: number[];
  @ApiPropertyOptional({ type: [Number] }) h?: number[];
  @ApiPropertyOptional({ type: [Number] }) l?: number[];
  @ApiPropertyOptional({ type: [Number] }) c?: number[];
  @ApiPropertyOptional({ type: [Number] }) v?: number[];
  @ApiPropertyOptional({
    type: 'integer',
    example: 1762250340000,
    description:
      "With no_data: the time of the newest bar before `to`, if any, in epoch MILLISECONDS (TradingView's adapter hands it to the library's HistoryMetadata unchanged)",
  })
  nextTime?: number;
}

export class UdfErrorDto {
  @ApiProperty({ enum: ['error'] }) s!: 'error';
  @ApiProperty({ example: 'resolution must be one of the following values: 1, 3, 5, 15, 30, 60, 1D, D' })
  errmsg!: string;
  @ApiPropertyOptional({
    type: [FieldErrorDto],
    description: 'For a bad parameter: each field and what is wrong with it (extra to the UDF protocol)',
  })
  errors?: FieldErrorDto[];
}
