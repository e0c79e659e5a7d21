import { ApiProperty } from '@nestjs/swagger';
import { BACKFILL_TRIGGERS } from '../../backfill/backfill.requests';

export class BackfillStateDto {
  @ApiProperty({ example: 'evt-13660418-...' })
  last_job_id!: string;

  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] })
  state!: string;

  @ApiProperty({ enum: BACKFILL_TRIGGERS })
  trigger!: string;

  @ApiProperty({ format: 'date-time' })
  requested_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  finished_at!: string | null;
}

export class SubscriptionViewDto {
  @ApiProperty({ example: 13660418 })
  instrument_token!: number;

  @ApiProperty({ example: 'NIFTY25NOV24500CE', nullable: true, type: String })
  tradingsymbol!: string | null;

  @ApiProperty({ example: 'NFO-OPT', nullable: true, type: String })
  segment!: string | null;

  @ApiProperty({ enum: ['active', 'inactive'] })
  status!: 'active' | 'inactive';

  @ApiProperty({ example: 'FULL', nullable: true, type: String })
  requested_mode!: string | null;

  @ApiProperty({ nullable: true, type: String })
  account_id!: string | null;

  @ApiProperty({ enum: ['event', 'reconcile', 'manual', 'stream'], description: 'What made it active' })
  source!: string;

  @ApiProperty({ format: 'date-time' })
  first_seen_at!: string;

  @ApiProperty({ format: 'date-time', description: 'Latest event or reconciliation that touched it' })
  last_event_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  removed_at!: string | null;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Start of the newest stored 1-minute candle',
  })
  last_candle_time!: string | null;

  @ApiProperty({ type: BackfillStateDto, nullable: true, description: 'The latest backfill job, if any' })
  backfill!: BackfillStateDto | null;
}

export class SubscriptionListDto {
  @ApiProperty({ description: 'Subscriptions matching the filter, over all pages' })
  total!: number;

  @ApiProperty()
  limit!: number;

  @ApiProperty()
  offset!: number;

  @ApiProperty({ type: [SubscriptionViewDto] })
  subscriptions!: SubscriptionViewDto[];
}
