import { Module } from '@nestjs/common';
import { calendarConfig, CalendarConfig } from './market-calendar.config';
import { MarketCalendar } from '../contracts/market-time';
import { MarketSessionsRepository } from './market-sessions.repository';
import { MarketSessionsWriter } from './market-sessions.writer';

/** The NSE calendar of the configuration: holidays and special sessions. */
export function marketCalendarOf(
  config: Pick<CalendarConfig, 'MARKET_HOLIDAYS' | 'MARKET_SPECIAL_SESSIONS'>,
): MarketCalendar {
  return new MarketCalendar(config.MARKET_HOLIDAYS, config.MARKET_SPECIAL_SESSIONS);
}

/**
 * Provides the NSE calendar built from the configured holidays and special sessions, and keeps
 * `market_sessions` (the calendar for SQL) in step with it. The clock (`CLOCK`) comes with the
 * configuration (ConfigModule).
 */
@Module({
  providers: [
    {
      provide: MarketCalendar,
      inject: [calendarConfig.KEY],
      useFactory: (config: CalendarConfig) => marketCalendarOf(config),
    },
    MarketSessionsRepository,
    MarketSessionsWriter,
  ],
  exports: [MarketCalendar],
})
export class MarketTimeModule {}
