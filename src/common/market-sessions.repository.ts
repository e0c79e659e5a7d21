import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MarketCalendar } from '../contracts/market-time';

// Any key works; it only has to be the same for every replica writing the calendar.
const CALENDAR_LOCK_KEY = 7_231_004;

/** The only SQL of `market_sessions`: the calendar's sessions, for queries run outside the service. */
@Injectable()
export class MarketSessionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Makes the rows of the IST days `[fromDate, toDate]` exactly the calendar's sessions: new sessions
   * are added, changed hours rewritten, days that are no longer trading days removed. Idempotent, and
   * serialised between replicas booting together. Returns the sessions written.
   */
  async replace(calendar: MarketCalendar, fromDate: string, toDate: string): Promise<number> {
    const sessions = calendar.sessionsBetween(
      new Date(`${fromDate}T00:00:00+05:30`),
      new Date(`${toDate}T23:59:59+05:30`),
    );
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [CALENDAR_LOCK_KEY]);
      await manager.query(
        `DELETE FROM market_sessions
          WHERE session_date BETWEEN $1::date AND $2::date AND session_date <> ALL($3::date[])`,
        [fromDate, toDate, sessions.map((s) => s.date)],
      );
      await manager.query(
        `INSERT INTO market_sessions (session_date, opens_at, closes_at, special)
         SELECT * FROM unnest($1::date[], $2::timestamptz[], $3::timestamptz[], $4::boolean[])
         ON CONFLICT (session_date) DO UPDATE
            SET opens_at = EXCLUDED.opens_at, closes_at = EXCLUDED.closes_at, special = EXCLUDED.special,
                updated_at = now()
          WHERE (market_sessions.opens_at, market_sessions.closes_at, market_sessions.special)
                IS DISTINCT FROM (EXCLUDED.opens_at, EXCLUDED.closes_at, EXCLUDED.special)`,
        [
          sessions.map((s) => s.date),
          sessions.map((s) => s.open.toISOString()),
          sessions.map((s) => s.close.toISOString()),
          sessions.map((s) => s.special),
        ],
      );
      return sessions.length;
    });
  }
}
