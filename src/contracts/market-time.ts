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

function weekdayOfIstDate(istDate: string): number {
  return new Date(`${istDate}T00:00:00Z`).getUTCDay();
}

function addDays(istDate: string, days: number): string {
  return new Date(Date.parse(`${istDate}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export interface Session {
  date: string;
  open: Date;
  /** Exclusive end: 15:30 IST; the last candle starts at 15:29. */
  close: Date;
}

/** NSE trading calendar: weekdays minus a dated holiday list (IST dates). */
export class MarketCalendar {
  private readonly holidays: ReadonlySet<string>;

  constructor(holidays: Iterable<string> = []) {
    this.holidays = new Set(holidays);
  }

  isTradingDay(istDate: string): boolean {
    const weekday = weekdayOfIstDate(istDate);
    return weekday !== 0 && weekday !== 6 && !this.holidays.has(istDate);
  }

  sessionOf(istDate: string): Session {
    return {
      date: istDate,
      open: istInstant(istDate, SESSION_OPEN_MINUTE),
      close: istInstant(istDate, SESSION_CLOSE_MINUTE),
    };
  }

  /** True when a candle starting at `minuteStart` belongs to a session. */
  isSessionMinute(minuteStart: Date): boolean {
    const minute = istMinuteOfDay(minuteStart);
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
    for (let day = istDateOf(from); day <= istDateOf(to); day = addDays(day, 1)) {
      if (!this.isTradingDay(day)) continue;
      const session = this.sessionOf(day);
      if (session.close.getTime() > from.getTime() && session.open.getTime() < to.getTime())
        sessions.push(session);
    }
    return sessions;
  }
}

/**
 * NSE equity-derivatives trading holidays (IST dates). Deployments override the list with
 * `MARKET_HOLIDAYS`; check it against the exchange's circular each December.
 */
export const DEFAULT_NSE_HOLIDAYS: readonly string[] = [
  '2025-02-26',
  '2025-03-14',
  '2025-03-31',
  '2025-04-10',
  '2025-04-14',
  '2025-04-18',
  '2025-05-01',
  '2025-08-15',
  '2025-08-27',
  '2025-10-02',
  '2025-10-21',
  '2025-10-22',
  '2025-11-05',
  '2025-12-25',
  '2026-01-26',
  '2026-03-03',
  '2026-03-26',
  '2026-03-31',
  '2026-04-03',
  '2026-04-14',
  '2026-05-01',
  '2026-05-28',
  '2026-06-26',
  '2026-09-14',
  '2026-10-02',
  '2026-10-20',
  '2026-11-10',
  '2026-11-24',
  '2026-12-25',
];
