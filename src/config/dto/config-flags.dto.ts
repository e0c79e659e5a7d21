import { ApiProperty } from '@nestjs/swagger';
import { APP_ENVIRONMENTS, AppEnvironment } from '../app-config';

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
  @ApiProperty({ enum: ['ticker', 'kite'] }) history_provider!: string;
  @ApiProperty({ example: 0 }) ticker_window_shift_minutes!: number;
  @ApiProperty({ description: 'Whether mutating routes require X-API-Key' }) api_key_required!: boolean;
  @ApiProperty({
    type: [String],
    example: ['database'],
    description: 'Readiness checks whose failure takes the pod out of the Service',
  })
  health_readiness_requires!: string[];
}

export class ConfigFlagsDto {
  @ApiProperty({ enum: APP_ENVIRONMENTS }) environment!: AppEnvironment;
  @ApiProperty({ type: FeatureFlagsDto }) flags!: FeatureFlagsDto;
  @ApiProperty({ type: EffectiveSettingsDto }) settings!: EffectiveSettingsDto;
}
