import { addDays, MarketCalendar, weekdayOfIstDate } from './market-time';

/** Days of the week as `Date.getUTCDay()` numbers them. */
const TUESDAY = 2;
const THURSDAY = 4;

/**
 * The weekday of NSE's monthly index expiries, newest rule first, by the first expiry month it
 * applies to (`YYYY-MM`). SEBI's expiry-day rationalisation moved every NSE equity derivative to
 * Tuesday from the September 2025 contracts; from January 2025 NSE's monthly index contracts expired on
 * the last Thursday. Before 2025 only NIFTY's monthly expiry is certain (the last Thursday, unchanged
 * for decades): BANKNIFTY, FINNIFTY and MIDCPNIFTY moved between Tuesday, Wednesday and Thursday, so
 * their older expiries are not derived here.
 */
const MONTHLY_EXPIRY_WEEKDAYS: readonly { from: string; weekday: number; names?: readonly string[] }[] = [
  { from: '2025-09', weekday: TUESDAY },
  { from: '2025-01', weekday: THURSDAY },
  { from: '2000-01', weekday: THURSDAY, names: ['NIFTY'] },
];

/**
 * A day an expiry can fall on: a regular trading day. A day with only a special session (Muhurat
 * trading on a holiday, a weekend Budget session) is no expiry day.
 */
function isExpiryDay(date: string, calendar: MarketCalendar): boolean {
  return calendar.isTradingDay(date) && !calendar.isSpecialSession(date);
}

/** An expiry that falls on a holiday moves to the trading day before it (NSE's rule). */
export function movedBackOverHolidays(date: string, calendar: MarketCalendar): string {
  let day = date;
  for (let guard = 0; !isExpiryDay(day, calendar) && guard < 30; guard++) day = addDays(day, -1);
  return day;
}

/** The last `weekday` of a month, `YYYY-MM-DD`. */
export function lastWeekdayOfMonth(year: number, month: number, weekday: number): string {
  const lastDay = new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10);
  return addDays(lastDay, -((weekdayOfIstDate(lastDay) - weekday + 7) % 7));
}

/**
 * The monthly expiry of an NSE index derivative (`NIFTY25NOV24750CE`, `NIFTY25NOVFUT`) of `month`
 * (1-12): the month's last expiry weekday, moved back over holidays as far as `calendar` knows
 * them; undefined where the rule for the underlying and month is not known (see above).
 */
export function monthlyExpiry(
  name: string,
  year: number,
  month: number,
  calendar: MarketCalendar,
): string | undefined {
  const key = `${year}-${String(month).padStart(2, '0')}`;
  const rule = MONTHLY_EXPIRY_WEEKDAYS.find((r) => key >= r.from && (!r.names || r.names.includes(name)));
  if (!rule) return undefined;
  return movedBackOverHolidays(lastWeekdayOfMonth(year, month, rule.weekday), calendar);
}
