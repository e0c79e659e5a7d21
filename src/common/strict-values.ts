/**
 * Strict readers of values that end up in PostgreSQL columns or queries, shared by the HTTP DTOs and
 * the tick parser. Each accepts only what the column (and a JS number) holds exactly, so a value that
 * passes can never make a statement fail for a data reason.
 */

/** Largest `integer` (int4) value. */
export const INT4_MAX = 2_147_483_647;

/**
 * Largest instrument token accepted anywhere: `bigint` holds more, but a JS number carries integers
 * exactly only up to 2^53 - 1. Kite's tokens are 32-bit.
 */
export const MAX_INSTRUMENT_TOKEN = Number.MAX_SAFE_INTEGER;

/** Deepest list offset served: far beyond any list here, and within what PostgreSQL and JS hold. */
export const MAX_OFFSET = 1_000_000;

/** Largest count (volume, open interest) accepted: within `bigint` and exact as a JS number. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * Instants accepted: those whose date is in 1970..9999 both in UTC and in IST, the zone market dates
 * are taken in (an IST date is written YYYY-MM-DD and goes to a `date` column or parameter, and the
 * last 5h30 of 9999 UTC are already year 10000 there). Dates accepted: 1970..9999.
 */
export const MIN_INSTANT_MS = Date.UTC(1970, 0, 1);
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999) - 330 * 60_000;

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_INTEGER = /^(0|[1-9]\d{0,15})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isRealDate(year: number, month: number, day: number): boolean {
  return year >= 1970 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * An ISO-8601 instant with an explicit offset (`Z` or `±hh:mm`), e.g. `2025-11-03T09:15:00+05:30`:
 * the calendar date and the time must exist (no 2025-02-30, no 24:00) and the instant must fall in
 * MIN_INSTANT_MS..MAX_INSTANT_MS. Week dates, ordinal dates, the basic format and zone-less times
 * (which would be read in the server's own zone) are refused. Undefined when refused.
 */
export function parseInstant(text: unknown): Date | undefined {
  if (typeof text !== 'string') return undefined;
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  if (!isRealDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (!m[8]) {
    const [offsetHours, offsetMins] = [Number(m[10]), Number(m[11])];
    if (offsetHours > 14 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  if (ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) return undefined;
  return new Date(ms);
}

/** A calendar date `YYYY-MM-DD` that exists, in 1970..9999. */
export function isCalendarDate(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const m = CALENDAR_DATE.exec(text);
  return m !== null && isRealDate(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * A query or path integer as sent: plain decimal digits, no sign, no leading zero, no exponent, no
 * spaces (`1e20`, `0x10`, ` 12`, `12.0`, `-0`, `NaN`, `Infinity` are refused). Undefined when refused.
 */
export function parseDecimalInteger(text: unknown): number | undefined {
  if (typeof text !== 'string' || !DECIMAL_INTEGER.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** An integer in [min, max]. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** A finite number in [min, max] (a `double precision` column holds any finite value). */
export function isFiniteIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}

const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Printable ASCII text of 1..maxLength characters: what a symbol, segment or exchange is. Excludes
 * NUL, which a `text` column refuses, and control characters, which have no business in a name.
 */
export function isPrintableText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length <= maxLength && PRINTABLE.test(value);
}
