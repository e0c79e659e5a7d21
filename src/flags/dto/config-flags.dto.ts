import { ApiProperty } from '@nestjs/swagger';
import { APP_ENVIRONMENTS, AppEnvironment } from '../../config/app.config';

export class FeatureFlagsDto {
  @ApiProperty() subscription_events_enabled!: boolean;
  @ApiProperty() backfill_enabled!: boolean;
  @ApiProperty() backfill_subscription_aware!: boolean;
  @ApiProperty() backfill_immediate_on_subscribe!: boolean;
  @ApiProperty() fo_stream_enabled!: boolean;
  @ApiProperty({ description: 'Ticks outside the NSE session are dropped' }) fo_stream_session_gate!: boolean;
}

export class EffectiveSettingsDto {
  @ApiProperty({ example: 'ticker:nifty' }) redis_channel_prefix!: string;
  @ApiProperty({ example: 300 }) backfill_interval_seconds!: number;
  @ApiProperty({ example: 3 }) backfill_rate_limit_per_second!: number;
  @ApiProperty({ example: 3 }) backfill_concurrency!: number;
  @ApiProperty({ example: 5 }) backfill_lookback_sessions!: number;
  @ApiProperty({ example: 400, description: 'How far back, in days, a manual backfill may start' })
  backfill_max_days_back!: number;
  @ApiProperty({ enum: ['ticker', 'kite'] }) history_provider!: string;
  @ApiProperty({
    oneOf: [{ type: 'string', enum: ['auto'] }, { type: 'integer' }],
    example: 'auto',
    description: 'TICKER_WINDOW_SHIFT_MINUTES as configured: auto, or an override in minutes',
  })
  ticker_window_shift_minutes!: number | 'auto';
  @ApiProperty({ description: 'Whether mutating routes require X-API-Key' }) api_key_required!: boolean;
  @ApiProperty({
    type: [String],
    example: ['database'],
    description: 'Readiness checks whose failure takes the pod out of the Service',
  })
  health_readiness_requires!: string[];
}

export class TickerWindowDto {
  @ApiProperty({
    enum: ['auto', 'override', 'none'],
    description: 'auto: learned from the ticker; override: the configured number; none: Kite, no quirk',
  })
  mode!: string;
  @ApiProperty({ example: 330, description: "Minutes added to every window asked of the ticker's /history" })
  shift_minutes!: number;
  @ApiProperty({ description: 'The upstream has shown this shift to give the window asked for' })
  verified!: boolean;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 330,
    description: 'The shift the last probe found right (null: none found or not probed)',
  })
  observed_shift_minutes!: number | null;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true }) checked_at!: string | null;
  @ApiProperty({ example: 'the probe of 2025-11-03 answered right with 330' }) reason!: string;
}

export class ConfigFlagsDto {
  @ApiProperty({ enum: APP_ENVIRONMENTS }) environment!: AppEnvironment;
  @ApiProperty({ type: FeatureFlagsDto }) flags!: FeatureFlagsDto;
  @ApiProperty({ type: EffectiveSettingsDto }) settings!: EffectiveSettingsDto;
  @ApiProperty({
    type: TickerWindowDto,
    nullable: true,
    description: 'The window shift in use and whether it is verified (null when the backfill is disabled)',
  })
  ticker_window!: TickerWindowDto | null;
}
