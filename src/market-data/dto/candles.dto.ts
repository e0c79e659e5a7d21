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
    description: 'Start, inclusive (ISO-8601); default to - 1 day',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-20T10:00:00Z',
    description: 'End, exclusive (ISO-8601); default now',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: CANDLE_INTERVALS, default: '1m' })
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
  @ApiProperty({ nullable: true, type: Number, description: 'Last in the bucket' }) oi!: number | null;
  @ApiPropertyOptional({ description: 'Options only, where known (last in the bucket)' }) iv?: number;
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
