// NSE market time (section 4 of CONTRACTS.md). Everything is stored and compared as UTC instants;
// IST (UTC+05:30, no DST) appears only when deciding calendar days and session minutes.

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
export const IST_OFFSET_MS = 330 * MINUTE_MS;
/** Session 09:15-15:30 IST, in minutes after IST midnight. */
export const SESSION_OPEN_MINUTE = 9 * 60 + 15;
export const SESSION_CLOSE_MINUTE = 15 * 60 + 30;
export const SESSION_MINUTES = SESSION_CLOSE_MINUTE - SESSION_OPEN_MINUTE;

/** Source of "now"; injected everywhere so tests run at any hour on any day. */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that stands still until told otherwise; `advance` moves it forward. */
export class FixedClock implements Clock {
  private current: number;
  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(instant: Date | string): void {
    this.current = new Date(instant).getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A clock running at real speed from a chosen start instant (for end-to-end runs on a weekend). */
export class OffsetClock implements Clock {
  private readonly offsetMs: number;
  constructor(start: Date | string, realNow: number = Date.now()) {
    this.offsetMs = new Date(start).getTime() - realNow;
  }
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

export function floorToMinute(instant: Date | number): Date {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS);
}

/** `YYYY-MM-DD` of the IST calendar day containing the instant. */
export function istDateOf(instant: Date): string {
  return new Date(instant.getTime() + IST_OFFSET_MS).toISOString().slice(0, 10);
}

/** Minutes after IST midnight of the instant. */
export function istMinuteOfDay(instant: Date): number {
  const shifted = instant.getTime() + IST_OFFSET_MS;
  return Math.floor((((shifted % DAY_MS) + DAY_MS) % DAY_MS) / MINUTE_MS);
}

/** UTC instant of `minuteOfDay` on IST day `istDate`. */
export function istInstant(istDate: string, minuteOfDay: number): Date {
  const midnightUtc = Date.parse(`${istDate}T00:00:00Z`);
  if (Number.isNaN(midnightUtc)) throw new Error(`invalid IST date: ${istDate}`);
  return new Date(midnightUtc - IST_OFFSET_MS + minuteOfDay * MINUTE_MS);
}

/** ISO text with the `+05:30` offset, as the ticker service writes candle dates. */
export function toIstIso(instant: Date): string {
  return new Date(instant.getTime() + IST_OFFSET_MS).toISOString().slice(0, 19) + '+05:30';
}

/** IST wall clock `yyyy-mm-dd hh:mm:ss`, as Kite's `from`/`to` parameters want it. */
export function toIstWallClock(instant: Date): string {
  return new Date(instant.getTime() + IST_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

const OFFSET_WITHOUT_COLON = /([+-]\d{2})(\d{2})$/;

/** Parses upstream timestamps: `+05:30` (ticker), `+0530` (Kite) and `Z`. Throws on anything else. */
export function parseUpstreamTime(text: string): Date {
  if (typeof text !== 'string' || text.length < 19) throw new Error(`invalid timestamp: ${String(text)}`);
  const normalised = OFFSET_WITHOUT_COLON.test(text) ? text.replace(OFFSET_WITHOUT_COLON, '$1:$2') : text;
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(normalised)) throw new Error(`timestamp without offset: ${text}`);
  const ms = Date.parse(normalised);
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp: ${text}`);
  return new Date(ms);
}

/** Day of the week of an IST date (`YYYY-MM-DD`): 0 Sunday to 6 Saturday. */
export function weekdayOfIstDate(istDate: string): number {
  return new Date(`${istDate}T00:00:00Z`).getUTCDay();
}

/** The IST date `days` after `istDate` (before it when negative), both `YYYY-MM-DD`. */
export function addDays(istDate: string, days: number): string {
  return new Date(Date.parse(`${istDate}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export interface Session {
  date: string;
  open: Date;
  /** Exclusive end: 15:30 IST on a regular day; the last candle starts a minute before. */
  close: Date;
  /** A dated special session with its own hours (Muhurat trading, a weekend Budget session). */
  special: boolean;
}

/**
 * A dated session with its own hours, announced by an NSE circular: Muhurat trading on Diwali (about
 * an hour, often on a listed holiday), a weekend session on Union Budget day. It replaces whatever the
 * day would otherwise be (closed weekend, holiday, or a regular session).
 */
export interface SpecialSession {
  /** IST date, `YYYY-MM-DD`. */
  date: string;
  /** Minutes after IST midnight of the first minute. */
  openMinute: number;
  /** Minutes after IST midnight of the end (exclusive). */
  closeMinute: number;
}

const SPECIAL_SESSION_TEXT = /^(\d{4}-\d{2}-\d{2})@(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/**
 * Reads `YYYY-MM-DD@HH:MM-HH:MM` (IST wall clock, the end exclusive: `2025-10-21@13:45-14:45` is the
 * sixty minutes 13:45 to 14:44). Throws with the reason.
 */
export function parseSpecialSession(text: string): SpecialSession {
  const match = SPECIAL_SESSION_TEXT.exec(typeof text === 'string' ? text.trim() : '');
  if (!match) throw new Error(`"${String(text)}" is not YYYY-MM-DD@HH:MM-HH:MM`);
  const [, date, openH, openM, closeH, closeM] = match;
  if (!isCalendarDate(date)) throw new Error(`"${text}": ${date} is not a calendar date`);
  const minute = (h: string, m: string): number => Number(h) * 60 + Number(m);
  const openMinute = minute(openH, openM);
  const closeMinute = minute(closeH, closeM);
  if (Number(openH) > 23 || Number(closeH) > 24 || Number(openM) > 59 || Number(closeM) > 59)
    throw new Error(`"${text}": not a time of day`);
  if (closeMinute > 24 * 60) throw new Error(`"${text}": the session must end by 24:00`);
  if (closeMinute <= openMinute) throw new Error(`"${text}": the close must come after the open`);
  return { date, openMinute, closeMinute };
}

export function formatSpecialSession(session: SpecialSession): string {
  const hhmm = (minutes: number): string =>
    `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  return `${session.date}@${hhmm(session.openMinute)}-${hhmm(session.closeMinute)}`;
}

/**
 * NSE trading calendar: weekdays 09:15-15:30 IST minus a dated holiday list, plus dated special
 * sessions with their own hours (each replaces its day, whatever the day would otherwise be).
 */
export class MarketCalendar {
  private readonly holidays: ReadonlySet<string>;
  private readonly special: ReadonlyMap<string, SpecialSession>;
  private readonly specialByDay: ReadonlyMap<number, SpecialSession>;

  constructor(holidays: Iterable<string> = [], specialSessions: Iterable<SpecialSession | string> = []) {
    this.holidays = new Set(holidays);
    const special = new Map<string, SpecialSession>();
    for (const entry of specialSessions) {
      const session = typeof entry === 'string' ? parseSpecialSession(entry) : entry;
      if (special.has(session.date)) throw new Error(`two special sessions on ${session.date}`);
      special.set(session.date, session);
    }
    this.special = special;
    this.specialByDay = new Map(
      [...special.values()].map((session) => [Date.parse(`${session.date}T00:00:00Z`) / DAY_MS, session]),
    );
  }

  /** The special sessions, by date. */
  specialSessions(): SpecialSession[] {
    return [...this.special.values()].sort((a, b) => a.date.localeCompare(b.date));
  }

  isSpecialSession(istDate: string): boolean {
    return this.special.has(istDate);
  }

  isTradingDay(istDate: string): boolean {
    if (this.special.has(istDate)) return true;
    const weekday = weekdayOfIstDate(istDate);
    return weekday !== 0 && weekday !== 6 && !this.holidays.has(istDate);
  }

  /** The day's session hours (a regular day's unless a special session is listed for it). */
  sessionOf(istDate: string): Session {
    const special = this.special.get(istDate);
    return {
      date: istDate,
      open: istInstant(istDate, special?.openMinute ?? SESSION_OPEN_MINUTE),
      close: istInstant(istDate, special?.closeMinute ?? SESSION_CLOSE_MINUTE),
      special: special !== undefined,
    };
  }

  /** True when a candle starting at `minuteStart` belongs to a session. */
  isSessionMinute(minuteStart: Date): boolean {
    const minute = istMinuteOfDay(minuteStart);
    // Called for every minute (and tick) on hot paths: the special sessions are found by IST day
    // number, without building a date string.
    const special = this.specialByDay.get(Math.floor((minuteStart.getTime() + IST_OFFSET_MS) / DAY_MS));
    if (special) return minute >= special.openMinute && minute < special.closeMinute;
    return (
      minute >= SESSION_OPEN_MINUTE &&
      minute < SESSION_CLOSE_MINUTE &&
      this.isTradingDay(istDateOf(minuteStart))
    );
  }

  /** The session in progress at `instant`, if any. */
  currentSession(instant: Date): Session | undefined {
    return this.isSessionMinute(floorToMinute(instant)) ? this.sessionOf(istDateOf(instant)) : undefined;
  }

  /**
   * The last `count` sessions that have started by `instant`, oldest first (today's session counts
   * once it has opened).
   */
  recentSessions(instant: Date, count: number): Session[] {
    const sessions: Session[] = [];
    let day = istDateOf(instant);
    // 30 days of holidays in a row do not happen; the bound only guards against a bad holiday list.
    for (let guard = 0; sessions.length < count && guard < count * 7 + 30; guard++, day = addDays(day, -1)) {
      if (!this.isTradingDay(day)) continue;
      const session = this.sessionOf(day);
      if (session.open.getTime() <= instant.getTime()) sessions.unshift(session);
    }
    return sessions;
  }

  /** The newest session that has closed by `instant`, if any within the guard. */
  lastCompleteSession(instant: Date): Session | undefined {
    let day = istDateOf(instant);
    for (let guard = 0; guard < 60; guard++, day = addDays(day, -1)) {
      if (!this.isTradingDay(day)) continue;
      const session = this.sessionOf(day);
      if (session.close.getTime() <= instant.getTime()) return session;
    }
    return undefined;
  }

  /** Start of the lookback window: the open of the oldest of the last `sessions` sessions. */
  lookbackStart(instant: Date, sessions: number): Date {
    const recent = this.recentSessions(instant, sessions);
    return recent.length > 0 ? recent[0].open : floorToMinute(instant);
  }

  /** Session minute starts in `[from, to)`, ascending. */
  sessionMinutes(from: Date, to: Date): Date[] {
    const minutes: Date[] = [];
    for (const session of this.sessionsBetween(from, to)) {
      const start = Math.max(session.open.getTime(), Math.ceil(from.getTime() / MINUTE_MS) * MINUTE_MS);
      const end = Math.min(session.close.getTime(), to.getTime());
      for (let t = start; t < end; t += MINUTE_MS) minutes.push(new Date(t));
    }
    return minutes;
  }

  /** Sessions overlapping `[from, to)`, ascending. */
  sessionsBetween(from: Date, to: Date): Session[] {
    const sessions: Session[] = [];
    if (to.getTime() <= from.getTime()) return sessions;
    // Ends on reaching the last date, not on comparing date texts: after 9999-12-31 comes
    // `+010000-01...`, which sorts before it as text.
    const last = istDateOf(to);
    for (let day = istDateOf(from); ; day = addDays(day, 1)) {
      if (this.isTradingDay(day)) {
        const session = this.sessionOf(day);
        if (session.close.getTime() > from.getTime() && session.open.getTime() < to.getTime())
          sessions.push(session);
      }
      if (day === last) return sessions;
    }
  }
}

/**
 * NSE equity-derivatives trading holidays (IST dates). Deployments override the list with
 * `MARKET_HOLIDAYS`; check it against the exchange's circulars each December and whenever NSE
 * announces a change. The sources are cited where the setting is declared (`MARKET_HOLIDAYS` in
 * src/config/app-config.ts).
 */
export const DEFAULT_NSE_HOLIDAYS: readonly string[] = [
  '2025-02-26', // Mahashivratri
  '2025-03-14', // Holi
  '2025-03-31', // Id-Ul-Fitr (Ramadan Eid)
  '2025-04-10', // Shri Mahavir Jayanti
  '2025-04-14', // Dr. Baba Saheb Ambedkar Jayanti
  '2025-04-18', // Good Friday
  '2025-05-01', // Maharashtra Day
  '2025-08-15', // Independence Day
  '2025-08-27', // Ganesh Chaturthi
  '2025-10-02', // Mahatma Gandhi Jayanti / Dussehra
  '2025-10-21', // Diwali Laxmi Pujan (Muhurat trading session: DEFAULT_NSE_SPECIAL_SESSIONS)
  '2025-10-22', // Diwali Balipratipada
  '2025-11-05', // Prakash Gurpurb Sri Guru Nanak Dev
  '2025-12-25', // Christmas
  '2026-01-15', // Municipal Corporation Election in Maharashtra (NSE/CMTR/72260)
  '2026-01-26', // Republic Day
  '2026-03-03', // Holi
  '2026-03-26', // Shri Ram Navami
  '2026-03-31', // Shri Mahavir Jayanti
  '2026-04-03', // Good Friday
  '2026-04-14', // Dr. Baba Saheb Ambedkar Jayanti
  '2026-05-01', // Maharashtra Day
  '2026-05-28', // Bakri Id
  '2026-06-26', // Muharram
  '2026-09-14', // Ganesh Chaturthi
  '2026-10-02', // Mahatma Gandhi Jayanti
  '2026-10-20', // Dussehra
  '2026-11-10', // Diwali Balipratipada (Laxmi Pujan, with Muhurat trading, is Sunday 8 November)
  '2026-11-24', // Prakash Gurpurb Sri Guru Nanak Dev
  '2026-12-25', // Christmas
];

/**
 * NSE special sessions (`YYYY-MM-DD@HH:MM-HH:MM`, IST, end exclusive): the normal market of each, as
 * the exchange notified it. Deployments override the list with `MARKET_SPECIAL_SESSIONS`; the sources,
 * and what could not be confirmed from them (the hours of 8 November 2026), are cited where the setting
 * is declared (`MARKET_SPECIAL_SESSIONS` in src/config/app-config.ts).
 */
export const DEFAULT_NSE_SPECIAL_SESSIONS: readonly string[] = [
  '2025-02-01@09:15-15:30',
  '2025-10-21@13:45-14:45',
  '2026-02-01@09:15-15:30',
  '2026-11-08@18:00-19:00',
];
