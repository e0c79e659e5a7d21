import { SchedulerRegistry } from '@nestjs/schedule';
import Redis from 'ioredis';
import { TickerWindowService } from '../../src/backfill/ticker-window.service';
import { AppConfig } from '../../src/app.settings';
import { FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';

/**
 * The ticker window service of an override without a probe, for provider unit tests: verified by
 * answers only, never touching Redis.
 */
export function probelessTickerWindow(config: AppConfig): TickerWindowService {
  const probeless = Object.assign(config, { TICKER_WINDOW_PROBE_INTERVAL_SECONDS: 0 });
  return new TickerWindowService(
    probeless,
    new MarketCalendar(),
    new MetricsService(),
    {} as Redis,
    new FixedClock('2026-11-25T06:00:00Z'),
    () => Promise.reject(new Error('no probe in this test')),
    new SchedulerRegistry(),
  );
}
