import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { calendarConfig, CalendarConfig } from './market-calendar.config';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CLOCK, Clock, DAY_MS, istDateOf, MarketCalendar } from '../contracts/market-time';
import { MarketSessionsRepository } from './market-sessions.repository';
import { startTimeout, stopTimer } from './named-timers';

const FUTURE_DAYS = 30;
const REFRESH_MS = 6 * 3_600_000;
const RETRY_MS = 30_000;
/** Name of the next pass's timer in the SchedulerRegistry. */
export const MARKET_SESSIONS_TIMER = 'market-sessions:write';

/**
 * Writes the configured calendar into `market_sessions` at boot and every few hours (the window moves
 * with the days), so TEST_QUERIES.sql decides session minutes exactly as the service does. A database
 * that refuses is retried in the background: the calendar in memory does not depend on it.
 */
@Injectable()
export class MarketSessionsWriter implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MarketCalendar');
  private stopped = false;

  constructor(
    private readonly repository: MarketSessionsRepository,
    private readonly calendar: MarketCalendar,
    @Inject(calendarConfig.KEY) private readonly config: CalendarConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly timers: SchedulerRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.write();
  }

  beforeApplicationShutdown(): void {
    this.stopped = true;
    stopTimer(this.timers, MARKET_SESSIONS_TIMER);
  }

  /** One pass; schedules the next one. */
  async write(): Promise<void> {
    const now = this.clock.now().getTime();
    // As far back as the longest manual backfill reaches.
    const from = istDateOf(new Date(now - this.config.BACKFILL_MAX_DAYS_BACK * DAY_MS));
    const to = istDateOf(new Date(now + FUTURE_DAYS * DAY_MS));
    let next = REFRESH_MS;
    try {
      const written = await this.repository.replace(this.calendar, from, to);
      this.logger.log(
        `market_sessions: ${written} sessions from ${from} to ${to} (${this.calendar.specialSessions().length} special sessions configured)`,
      );
    } catch (error) {
      next = RETRY_MS;
      this.logger.warn(`market_sessions not written yet: ${(error as Error).message}`);
    }
    if (this.stopped) return;
    startTimeout(this.timers, MARKET_SESSIONS_TIMER, next, () => void this.write());
  }
}
