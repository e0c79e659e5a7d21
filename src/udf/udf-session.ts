// The NSE calendar in TradingView's terms: a regular session string, the holidays that cancel it
// (`session_holidays`) and the dated sessions with hours of their own (`corrections`).

import { MarketCalendar, SpecialSession } from '../contracts/market-time';

export interface UdfSessionFields {
  /** Regular session, IST: 09:15-15:30 (the last 1-minute bar starts at 15:29). */
  session: string;
  /** `YYYYMMDD,YYYYMMDD,...`: days without the regular session. */
  session_holidays: string;
  /** `HHMM-HHMM:YYYYMMDD,YYYYMMDD;HHMM-HHMM:YYYYMMDD`: days whose session differs from the regular one. */
  corrections: string;
}

export const UDF_REGULAR_SESSION = '0915-1530';

const compactDate = (date: string): string => date.replaceAll('-', '');
const compactMinute = (minute: number): string =>
  `${String(Math.floor(minute / 60)).padStart(2, '0')}${String(minute % 60).padStart(2, '0')}`;

/**
 * TradingView's session fields from the holiday list and the special sessions (both validated when the
 * configuration was read). A special session on a listed holiday (Muhurat trading usually is one) takes
 * the day out of `session_holidays`: the day has a session, only not the regular one. Days with the
 * same special hours share one correction.
 */
export function udfSessionFields(
  holidays: readonly string[],
  specialSessions: readonly SpecialSession[],
): UdfSessionFields {
  const special = new Map(
    specialSessions.map((s) => [
      compactDate(s.date),
      `${compactMinute(s.openMinute)}-${compactMinute(s.closeMinute)}`,
    ]),
  );
  const holidayDays = [...new Set(holidays.map(compactDate))].filter((day) => !special.has(day)).sort();
  const daysBySession = new Map<string, string[]>();
  for (const [day, hours] of special) daysBySession.set(hours, [...(daysBySession.get(hours) ?? []), day]);
  const corrections = [...daysBySession.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hours, days]) => `${hours}:${days.sort().join(',')}`)
    .join(';');
  return { session: UDF_REGULAR_SESSION, session_holidays: holidayDays.join(','), corrections };
}

/** The session fields of the service's calendar. */
export function udfSessionFieldsOf(holidays: readonly string[], calendar: MarketCalendar): UdfSessionFields {
  return udfSessionFields(holidays, calendar.specialSessions());
}
