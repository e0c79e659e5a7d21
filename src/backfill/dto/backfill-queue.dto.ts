import { ApiProperty } from '@nestjs/swagger';

const SAMPLED =
  'as last sampled into backfill_queue_depth (every 15 s by the scheduler); 0 before the first sample and with the backfill off';

export class BackfillQueueDepthDto {
  @ApiProperty({ description: `Jobs waiting for a worker, ${SAMPLED}` }) waiting!: number;
  @ApiProperty({ description: `Jobs waiting with a priority (every trigger has one), ${SAMPLED}` })
  prioritized!: number;
  @ApiProperty({ description: `Jobs waiting in a paused queue, ${SAMPLED}` }) paused!: number;
  @ApiProperty({ description: `Jobs waiting for a retry or the rate limit, ${SAMPLED}` }) delayed!: number;
  @ApiProperty({ description: `Jobs a worker holds, ${SAMPLED}` }) active!: number;
  @ApiProperty({ description: `Jobs that used their attempts and are kept, ${SAMPLED}` }) failed!: number;
}

export class BackfillOutcomesDto {
  @ApiProperty({ description: 'backfill_triggers_total{outcome="succeeded"}, every trigger' })
  succeeded!: number;
  @ApiProperty({ description: 'backfill_triggers_total{outcome="failed"}, every trigger' }) failed!: number;
  @ApiProperty({ description: 'backfill_triggers_total{outcome="skipped"}, every trigger' }) skipped!: number;
}

export class TimeToDataDto {
  @ApiProperty({ description: 'backfill_time_to_data_seconds_count' }) count!: number;
  @ApiProperty({ description: 'backfill_time_to_data_seconds_sum' }) sum_seconds!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'sum / count; null before the first' })
  mean_seconds!: number | null;
}

/**
 * What the page's queue panel shows, read from the metric objects `/metrics` exposes (never a
 * second count): the counters are this replica's since it started, as in `/metrics`.
 */
export class BackfillQueueDto {
  @ApiProperty({ type: BackfillQueueDepthDto }) depth!: BackfillQueueDepthDto;
  @ApiProperty({ type: BackfillOutcomesDto, description: 'Backfill requests by outcome' })
  jobs!: BackfillOutcomesDto;
  @ApiProperty({ description: 'backfill_candles_written_total' }) candles_written!: number;
  @ApiProperty({ type: TimeToDataDto, description: 'From a subscription event to its candles committed' })
  time_to_data!: TimeToDataDto;
  @ApiProperty({ description: 'backfill_upstream_circuit_open: requests are kept from a failing upstream' })
  upstream_circuit_open!: boolean;
  @ApiProperty({ description: 'subscriptions_active' }) subscriptions_active!: number;
  @ApiProperty({ description: 'fo_bars_written_total: 1-minute bars the tick stream committed' })
  stream_bars_written!: number;
}
