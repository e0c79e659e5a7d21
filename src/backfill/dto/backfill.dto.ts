import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { MAX_INSTRUMENT_TOKEN, MAX_OFFSET } from '../../common/strict-values';
import { IntegerParam, IsInstant } from '../../common/validation';
import { BACKFILL_JOB_STATES, BackfillJobState, JOB_COUNT_LIMIT } from '../backfill-jobs.repository';
import { BACKFILL_TRIGGERS, BackfillTrigger } from '../backfill.requests';

const TOKEN_MESSAGE = { message: `$property must be an integer from 1 to ${MAX_INSTRUMENT_TOKEN}` };

export class ManualBackfillDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: MAX_INSTRUMENT_TOKEN,
    example: 13660418,
    description: 'Kite instrument token, a JSON number',
  })
  // A JSON number as sent: "13660418" (a string) is refused, not converted.
  @IsInt(TOKEN_MESSAGE)
  @Min(1, TOKEN_MESSAGE)
  @Max(MAX_INSTRUMENT_TOKEN, TOKEN_MESSAGE)
  instrument_token!: number;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2025-11-03T09:15:00+05:30',
    description:
      'Window start, ISO-8601 with Z or an offset. Without from and to: the parts of the lookback not yet covered.',
  })
  @IsOptional()
  @IsInstant()
  from?: string;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2025-11-03T10:00:00Z',
    description: 'Window end, exclusive, ISO-8601 with Z or an offset; default now',
  })
  @IsOptional()
  @IsInstant()
  to?: string;
}

export class BackfillAcceptedDto {
  @ApiProperty({ nullable: true, type: String, example: 'bf-13660418-1763610300000-1763632800000' })
  job_id!: string | null;

  @ApiProperty({ type: [String], description: 'One job per upstream request (windows of at most 60 days)' })
  job_ids!: string[];

  @ApiPropertyOptional({ description: 'Why nothing was enqueued', example: 'nothing missing' })
  skipped?: string;
}

export class BackfillJobDto {
  @ApiProperty() id!: string;
  @ApiProperty() instrument_token!: number;
  @ApiProperty({ enum: BACKFILL_TRIGGERS }) trigger!: BackfillTrigger;
  @ApiProperty({ format: 'date-time' }) window_from!: string;
  @ApiProperty({ format: 'date-time', description: 'exclusive' }) window_to!: string;
  @ApiProperty({ enum: BACKFILL_JOB_STATES }) state!: BackfillJobState;
  @ApiProperty() attempts!: number;
  @ApiProperty() rows_written!: number;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) requested_at!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) started_at!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at!: string | null;
  @ApiProperty({ nullable: true, type: Number }) duration_ms!: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'From the request to the candles committed' })
  time_to_data_ms!: number | null;
}

export class BackfillJobListQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_INSTRUMENT_TOKEN, example: 13660418 })
  @IsOptional()
  @IntegerParam(1, MAX_INSTRUMENT_TOKEN)
  instrument_token?: number;

  @ApiPropertyOptional({ enum: BACKFILL_JOB_STATES })
  @IsOptional()
  @IsIn(BACKFILL_JOB_STATES)
  state?: BackfillJobState;

  @ApiPropertyOptional({ enum: BACKFILL_TRIGGERS })
  @IsOptional()
  @IsIn(BACKFILL_TRIGGERS)
  trigger?: BackfillTrigger;

  @ApiPropertyOptional({ type: 'integer', default: 50, minimum: 1, maximum: 500, example: 50 })
  @IsOptional()
  @IntegerParam(1, 500)
  limit = 50;

  @ApiPropertyOptional({ type: 'integer', default: 0, minimum: 0, maximum: MAX_OFFSET, example: 0 })
  @IsOptional()
  @IntegerParam(0, MAX_OFFSET)
  offset = 0;
}

export class JobIdParamDto {
  @ApiProperty({
    type: String,
    pattern: '^[A-Za-z0-9._-]{1,128}$',
    example: 'bf-13660418-1762141500000-1762164000000',
    description: 'A job id as the API returned it',
  })
  @Matches(/^[A-Za-z0-9._-]{1,128}$/, {
    message: '$property must be a job id such as bf-13660418-1762141500000-1762164000000',
  })
  id!: string;
}

export class BackfillJobListDto {
  @ApiProperty({
    description: `Records matching the filters, counted up to ${JOB_COUNT_LIMIT.toLocaleString('en')} (then total_capped)`,
  })
  total!: number;
  @ApiProperty({
    description: `More than ${JOB_COUNT_LIMIT.toLocaleString('en')} records match; total is that bound`,
  })
  total_capped!: boolean;
  @ApiProperty() limit!: number;
  @ApiProperty() offset!: number;
  @ApiProperty({ type: [BackfillJobDto] }) jobs!: BackfillJobDto[];
}

export class TimeRangeDto {
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time', description: 'exclusive' }) to!: string;
}

export class CoveredRangeDto extends TimeRangeDto {
  @ApiProperty({ description: 'Candles the upstream returned for the range (0: fetched, nothing there)' })
  candles!: number;
}

export class GapDto extends TimeRangeDto {
  @ApiProperty({ description: 'Session minutes missing in the range' }) minutes!: number;
}

export class UnsupportedDto {
  @ApiProperty() reason!: string;
  @ApiProperty({ format: 'date-time' }) first_seen_at!: string;
  @ApiProperty({ format: 'date-time' }) last_seen_at!: string;
  @ApiProperty({ format: 'date-time', description: 'Tried again after this instant' }) expires_at!: string;
  @ApiProperty() failures!: number;
  @ApiProperty({ description: 'False once expires_at has passed' }) active!: boolean;
}

export class CoverageDto {
  @ApiProperty() instrument_token!: number;
  @ApiProperty({ format: 'date-time' }) lookback_from!: string;
  @ApiProperty({ format: 'date-time', description: 'exclusive' }) lookback_to!: string;
  @ApiProperty({ type: [CoveredRangeDto], description: 'Fetched windows in the lookback, merged' })
  covered!: CoveredRangeDto[];
  @ApiProperty({ type: [GapDto], description: 'Session minutes neither stored nor covered, plus the tail' })
  gaps!: GapDto[];
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_candle_time!: string | null;
  @ApiProperty({ type: UnsupportedDto, nullable: true }) unsupported!: UnsupportedDto | null;
}

export class InstrumentTokenParamDto {
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
