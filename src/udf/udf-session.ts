// The NSE calendar in TradingView's terms: a regular session string, the holidays that cancel it
// (`session_holidays`) and the dated sessions with hours of their own (`corrections`).

/** A dated session with its own hours, IST (Muhurat trading, a Budget-day session on a weekend). */
export interface SpecialSession {
  /** IST date, `YYYY-MM-DD`. */
  date: string;
  /** IST wall clock `HH:MM`. */
  open: string;
  /** IST wall clock `HH:MM`, exclusive, after `open`. */
  close: string;
}

export interface UdfSessionFields {
  /** Regular session, IST: 09:15-15:30 (the last 1-minute bar starts at 15:29). */
  session: string;
  /** `YYYYMMDD,YYYYMMDD,...`: days without the regular session. */
  session_holidays: string;
  /** `HHMM-HHMM:YYYYMMDD,YYYYMMDD;HHMM-HHMM:YYYYMMDD`: days whose session differs from the regular one. */
  corrections: string;
}

export const UDF_REGULAR_SESSION = '0915-1530';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

function compactDate(date: string): string {
  const match = DATE.exec(date);
  if (!match || Number.isNaN(Date.parse(`${date}T00:00:00Z`)))
    throw new Error(`not a date YYYY-MM-DD: ${date}`);
  // Date.parse accepts 2025-02-30 (rolls over); the round trip does not.
  if (new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date)
    throw new Error(`not a date YYYY-MM-DD: ${date}`);
  return `${match[1]}${match[2]}${match[3]}`;
}

function compactTime(time: string, what: string): string {
  const match = TIME.exec(time);
  if (!match) throw new Error(`${what} is not a time HH:MM: ${time}`);
  return `${match[1]}${match[2]}`;
}

/**
 * TradingView's session fields from the holiday list and the special sessions. A special session on a
 * listed holiday (Muhurat trading usually is one) takes the day out of `session_holidays`: the day has
 * a session, only not the regular one. Several special sessions on one day make one correction with
 * both ranges. Throws on a malformed date or time, or a session that does not end after it opens.
 */
export function udfSessionFields(
  holidays: readonly string[],
  specialSessions: readonly SpecialSession[],
): UdfSessionFields {
  const byDay = new Map<string, string[]>();
  for (const special of specialSessions) {
    const day = compactDate(special.date);
    const open = compactTime(special.open, `open of the session on ${special.date}`);
    const close = compactTime(special.close, `close of the session on ${special.date}`);
    if (close <= open)
      throw new Error(`session on ${special.date} closes (${special.close}) before it opens`);
    byDay.set(day, [...(byDay.get(day) ?? []), `${open}-${close}`]);
  }
  const holidayDays = [...new Set(holidays.map(compactDate))].filter((day) => !byDay.has(day)).sort();

  const daysBySession = new Map<string, string[]>();
  for (const [day, ranges] of byDay) {
    const session = [...new Set(ranges)].sort().join(',');
    daysBySession.set(session, [...(daysBySession.get(session) ?? []), day]);
  }
  const corrections = [...daysBySession.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([session, days]) => `${session}:${days.sort().join(',')}`)
    .join(';');

  return { session: UDF_REGULAR_SESSION, session_holidays: holidayDays.join(','), corrections };
}
