import { Controller, Get, Optional } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { InjectSettings } from '../config/settings';
import { TickerWindowService } from '../backfill/ticker-window.service';
import { ConfigFlagsDto } from './dto/config-flags.dto';
import { FLAGS_NAMESPACES, FlagsConfig } from './flags.config';

@ApiTags('config')
@Controller('api/v1/config')
export class FlagsController {
  constructor(
    @InjectSettings(...FLAGS_NAMESPACES) private readonly config: FlagsConfig,
    // Exported by the backfill module (imported by FlagsModule) when the backfill runs; absent otherwise.
    @Optional() private readonly tickerWindow?: TickerWindowService,
  ) {}

  @Get('flags')
  @ApiOperation({ summary: 'Effective feature flags and environment (never a secret)' })
  @ApiOkResponse({ type: ConfigFlagsDto })
  flags(): ConfigFlagsDto {
    const c = this.config;
    const window = this.tickerWindow?.snapshot;
    return {
      environment: c.APP_ENV,
      flags: {
        subscription_events_enabled: c.SUBSCRIPTION_EVENTS_ENABLED,
        backfill_enabled: c.BACKFILL_ENABLED,
        backfill_subscription_aware: c.BACKFILL_SUBSCRIPTION_AWARE,
        backfill_immediate_on_subscribe: c.BACKFILL_IMMEDIATE_ON_SUBSCRIBE,
        fo_stream_enabled: c.FO_STREAM_ENABLED,
        fo_stream_session_gate: c.FO_STREAM_SESSION_GATE,
      },
      settings: {
        redis_channel_prefix: c.REDIS_CHANNEL_PREFIX,
        backfill_interval_seconds: c.BACKFILL_INTERVAL_SECONDS,
        backfill_rate_limit_per_second: c.BACKFILL_RATE_LIMIT_PER_SECOND,
        backfill_concurrency: c.BACKFILL_CONCURRENCY,
        backfill_lookback_sessions: c.BACKFILL_LOOKBACK_SESSIONS,
        backfill_max_days_back: c.BACKFILL_MAX_DAYS_BACK,
        history_provider: c.HISTORY_PROVIDER,
        ticker_window_shift_minutes: c.TICKER_WINDOW_SHIFT_MINUTES,
        api_key_required: c.API_KEY !== undefined,
        health_readiness_requires: [...c.HEALTH_READINESS_REQUIRES],
      },
      ticker_window: window
        ? {
            mode: window.mode,
            shift_minutes: window.shiftMinutes,
            verified: window.verified,
            observed_shift_minutes: window.observedShiftMinutes,
            checked_at: window.checkedAt?.toISOString() ?? null,
            reason: window.reason,
          }
        : null,
    };
  }
}
