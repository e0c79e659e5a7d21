import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, Min } from 'class-validator';

export const CANDLE_INTERVALS = ['1m', '3m', '5m', '10m', '15m', '30m', '1h', '1d'] as const;
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export class CandlesTokenParamDto {
  @ApiProperty({ example: 13660418 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  token!: number;
}

export class CandlesQueryDto {
  @ApiPropertyOptional({
    example: '2026-11-20T03:45:00Z',
    description:
      'Start, inclusive (ISO-8601); default to - 1 day. Aligned down to the start of the bucket that ' +
      'holds it, so the first bucket is whole (at 1d without from: yesterday and today, whole IST days)',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-20T10:00:00Z',
    description:
      'End, exclusive (ISO-8601); default now. Aligned up to the end of the bucket that holds it, so the ' +
      'last bucket is whole as far as its minutes exist (the bucket in progress holds the minutes so far)',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
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
}
