import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { MAX_INSTRUMENT_TOKEN } from '../../common/strict-values';
import { IntegerParam, IsInstant } from '../../common/validation';

export const CANDLE_INTERVALS = ['1m', '3m', '5m', '10m', '15m', '30m', '1h', '1d'] as const;
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export class CandlesTokenParamDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: MAX_INSTRUMENT_TOKEN,
    example: 13660418,
    description: 'Kite instrument token, plain decimal digits',
  })
  @IntegerParam(1, MAX_INSTRUMENT_TOKEN)
  token!: number;
}

export class CandlesQueryDto {
  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2025-11-03T09:15:00+05:30',
    description:
      'Start, inclusive (ISO-8601 with Z or an offset; a zone-less time is refused); default to - 1 day. Aligned down to the start of the bucket that ' +
      'holds it, so the first bucket is whole (at 1d without from: yesterday and today, whole IST days)',
  })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2025-11-03T10:00:00Z',
    description:
      'End, exclusive (ISO-8601 with Z or an offset; a zone-less time is refused); default now. Aligned up to the end of the bucket that holds it, so the ' +
      'last bucket is whole as far as its minutes exist (the bucket in progress holds the minutes so far)',
  })
  @IsOptional()
  @IsInstant()
  to?: string;

  @ApiPropertyOptional({
    enum: CANDLE_INTERVALS,
    default: '1m',
    description:
      'Bucket width. Intraday buckets start at 09:15 IST (the session open), 1d is the IST day. Every ' +
      'bucket is whole: from and to are widened to the buckets they fall in, never cut inside one',
  })
  @IsOptional()
  @IsIn(CANDLE_INTERVALS)
  interval: CandleInterval = '1m';

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    default: 'false',
    description:
      'true: also list the sessions of the NSE calendar that the (widened) window overlaps, so that a ' +
      'client can give every session minute its place (a minute without a candle had no trade or is not stored)',
  })
  @IsOptional()
  @IsIn(['true', 'false'])
  sessions?: 'true' | 'false';
}

export class SessionDto {
  @ApiProperty({ format: 'date', example: '2025-11-03', description: 'IST trading day' }) date!: string;
  @ApiProperty({ format: 'date-time', description: 'First minute, UTC' }) open!: string;
  @ApiProperty({
    format: 'date-time',
    description: 'End, exclusive, UTC (15:30 IST on a regular day; a special session has its own hours)',
  })
  close!: string;
}

export class CandleDto {
  @ApiProperty({ format: 'date-time', description: 'Bucket start, UTC' }) time!: string;
  @ApiProperty() open!: number;
  @ApiProperty() high!: number;
  @ApiProperty() low!: number;
  @ApiProperty() close!: number;
  @ApiProperty({ description: 'Sum over the bucket' }) volume!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'Last known in the bucket (the latest minute that has one); null when no minute has',
  })
  oi!: number | null;
  @ApiPropertyOptional({
    description: 'Options only, where known; like every greek, the last known in the bucket',
  })
  iv?: number;
  @ApiPropertyOptional() delta?: number;
  @ApiPropertyOptional() gamma?: number;
  @ApiPropertyOptional() theta?: number;
  @ApiPropertyOptional() vega?: number;
}

export class CandlesResponseDto {
  @ApiProperty() instrument_token!: number;
  @ApiProperty({ enum: CANDLE_INTERVALS }) interval!: CandleInterval;
  @ApiProperty({ type: [CandleDto], description: 'Ascending time' }) candles!: CandleDto[];
  @ApiPropertyOptional({
    type: [SessionDto],
    description: 'With sessions=true: the sessions overlapping the widened window, ascending',
  })
  sessions?: SessionDto[];
}
