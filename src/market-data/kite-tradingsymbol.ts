import { InstrumentInfo } from './market-data.types';

/** What a Kite derivative tradingsymbol states by itself. `expiry` is null when the symbol does not carry the date. */
export interface TradingsymbolFields {
  name: string;
  instrumentType: 'CE' | 'PE' | 'FUT';
  strike: number | null;
  expiry: string | null;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
// Weekly contracts write the month as one character: 1-9 for January to September, O, N, D for the rest.
const WEEKLY_MONTH_CODES = '123456789OND';
// NIFTY strikes are integers; a few underlyings list half-point strikes. A leading zero is never written.
const STRIKE = '([1-9]\\d*(?:\\.5)?)';

const WEEKLY_OPTION = new RegExp(`^([A-Z]+)(\\d{2})([1-9OND])(\\d{2})${STRIKE}(CE|PE)$`);
const MONTHLY_OPTION = new RegExp(`^([A-Z]+)(\\d{2})(${MONTHS.join('|')})${STRIKE}(CE|PE)$`);
const FUTURE = new RegExp(`^([A-Z]+)(\\d{2})(${MONTHS.join('|')})FUT$`);

/** `YYYY-MM-DD`, or null when the day does not exist (25N31 is not a date). */
function calendarDate(yy: string, month: number, dd: string): string | null {
  const year = 2000 + Number(yy);
  const day = Number(dd);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return null;
  return `${year}-${String(month).padStart(2, '0')}-${dd}`;
}

/**
 * Reads an NFO option or future tradingsymbol. Only what the symbol states exactly is returned:
 * a monthly contract's expiry date depends on the exchange calendar and is left to the stream.
 * Anything that is not one of the three shapes exactly yields null.
 */
export function parseKiteTradingsymbol(tradingsymbol: string): TradingsymbolFields | null {
  const weekly = WEEKLY_OPTION.exec(tradingsymbol);
  if (weekly) {
    const [, name, yy, monthCode, dd, strike, type] = weekly;
    const expiry = calendarDate(yy, WEEKLY_MONTH_CODES.indexOf(monthCode) + 1, dd);
    if (expiry === null) return null;
    return { name, instrumentType: type as 'CE' | 'PE', strike: Number(strike), expiry };
  }
  const monthly = MONTHLY_OPTION.exec(tradingsymbol);
  if (monthly) {
    const [, name, , , strike, type] = monthly;
    return { name, instrumentType: type as 'CE' | 'PE', strike: Number(strike), expiry: null };
  }
  const future = FUTURE.exec(tradingsymbol);
  if (future) return { name: future[1], instrumentType: 'FUT', strike: null, expiry: null };
  return null;
}

const missing = (value: unknown): boolean => value === null || value === undefined;
const isNfo = (segment: string | null | undefined): boolean => segment?.startsWith('NFO') ?? false;

/** NFO-OPT, NFO-FUT, BFO-OPT: the exchange is the part before the dash; INDICES tells nothing. */
export function exchangeOfSegment(segment: string | null | undefined): string | null {
  if (!segment || !segment.includes('-')) return null;
  return segment.split('-')[0] || null;
}

/**
 * Fills the fields an event or a reconciliation leaves out (they carry only tradingsymbol and
 * segment) so that option chain views see the instrument before its first tick. What the caller
 * states always wins; when it contradicts the symbol, or the segment is not NFO, nothing is derived.
 */
export function withDerivedInstrumentFields(info: InstrumentInfo): InstrumentInfo {
  const result: InstrumentInfo = { ...info };
  const exchange = exchangeOfSegment(result.segment);
  if (missing(result.exchange) && exchange !== null) result.exchange = exchange;
  if (missing(result.tradingsymbol) || !(missing(result.segment) || isNfo(result.segment))) return result;
  const parsed = parseKiteTradingsymbol(result.tradingsymbol as string);
  if (parsed === null) return result;
  // The segment names the kind of contract; a symbol of the other kind is not trusted.
  if (result.segment === 'NFO-OPT' && parsed.instrumentType === 'FUT') return result;
  if (result.segment === 'NFO-FUT' && parsed.instrumentType !== 'FUT') return result;
  const stated: Partial<TradingsymbolFields> = {
    name: result.name ?? undefined,
    instrumentType: (result.instrumentType ?? undefined) as TradingsymbolFields['instrumentType'] | undefined,
    strike: result.strike ?? undefined,
    expiry: result.expiry ?? undefined,
  };
  for (const key of ['name', 'instrumentType', 'strike', 'expiry'] as const) {
    if (stated[key] !== undefined && parsed[key] !== null && stated[key] !== parsed[key]) return result;
  }
  if (missing(result.name)) result.name = parsed.name;
  if (missing(result.instrumentType)) result.instrumentType = parsed.instrumentType;
  if (missing(result.strike) && parsed.strike !== null) result.strike = parsed.strike;
  if (missing(result.expiry) && parsed.expiry !== null) result.expiry = parsed.expiry;
  return result;
}
