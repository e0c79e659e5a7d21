import { MarketCalendar } from '../contracts/market-time';
import { monthlyExpiry } from '../contracts/nfo-expiry';
import { InstrumentInfo } from './market-data.types';

/** What a Kite derivative tradingsymbol states by itself. `expiry` is null when the symbol does not carry the date. */
export interface TradingsymbolFields {
  name: string;
  instrumentType: 'CE' | 'PE' | 'FUT';
  strike: number | null;
  expiry: string | null;
  /** The expiry month of a monthly option or a future, whose day the exchange calendar decides. */
  expiryMonth: { year: number; month: number } | null;
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
 * Reads an NFO option or future tradingsymbol. Only what the symbol states exactly is returned: a
 * monthly contract's expiry day depends on the exchange calendar (`derivedFromTradingsymbol`).
 * Anything that is not one of the three shapes exactly yields null.
 */
export function parseKiteTradingsymbol(tradingsymbol: string): TradingsymbolFields | null {
  const weekly = WEEKLY_OPTION.exec(tradingsymbol);
  if (weekly) {
    const [, name, yy, monthCode, dd, strike, type] = weekly;
    const expiry = calendarDate(yy, WEEKLY_MONTH_CODES.indexOf(monthCode) + 1, dd);
    if (expiry === null) return null;
    return { name, instrumentType: type as 'CE' | 'PE', strike: Number(strike), expiry, expiryMonth: null };
  }
  const monthly = MONTHLY_OPTION.exec(tradingsymbol);
  if (monthly) {
    const [, name, yy, month, strike, type] = monthly;
    return {
      name,
      instrumentType: type as 'CE' | 'PE',
      strike: Number(strike),
      expiry: null,
      expiryMonth: { year: 2000 + Number(yy), month: MONTHS.indexOf(month) + 1 },
    };
  }
  const future = FUTURE.exec(tradingsymbol);
  if (future) {
    const [, name, yy, month] = future;
    return {
      name,
      instrumentType: 'FUT',
      strike: null,
      expiry: null,
      expiryMonth: { year: 2000 + Number(yy), month: MONTHS.indexOf(month) + 1 },
    };
  }
  return null;
}

/**
 * The tick size of a segment's contracts: NSE's equity derivatives (NFO options and futures) move
 * in 0.05. A contract that differs is corrected by the instrument list or its first tick, which
 * rank above a derived value; other segments (the indices) are left to them.
 */
export const SEGMENT_TICK_SIZES: Readonly<Record<string, number>> = { 'NFO-OPT': 0.05, 'NFO-FUT': 0.05 };

/** NFO-OPT, NFO-FUT, BFO-OPT: the exchange is the part before the dash; INDICES tells nothing. */
export function exchangeOfSegment(segment: string | null | undefined): string | null {
  if (!segment || !segment.includes('-')) return null;
  return segment.split('-')[0] || null;
}

/** The fields a tradingsymbol and a segment tell, each null where they tell nothing. */
export type DerivedFields = Required<
  Pick<InstrumentInfo, 'name' | 'exchange' | 'instrumentType' | 'strike' | 'expiry' | 'tickSize'>
>;

/**
 * What an instrument's tradingsymbol and segment say of it: the underlying, the type, the strike,
 * the expiry (a weekly symbol states the date; a monthly one or a future states the month, whose
 * expiry day `calendar` decides: see src/contracts/nfo-expiry.ts), the exchange and the segment's
 * tick size. Nothing is derived outside NFO, from a symbol of the other kind than the segment names
 * (an NFO-OPT segment with a future's symbol), or from a symbol that is none of the three shapes.
 * The lot size is never derived: NSE revises it by circular, for contracts already listed too.
 */
export function derivedFromTradingsymbol(
  tradingsymbol: string | null | undefined,
  segment: string | null | undefined,
  calendar: MarketCalendar,
): DerivedFields {
  const exchange = exchangeOfSegment(segment);
  const fields: DerivedFields = {
    name: null,
    exchange,
    instrumentType: null,
    strike: null,
    expiry: null,
    tickSize: (segment ? SEGMENT_TICK_SIZES[segment] : undefined) ?? null,
  };
  if (!tradingsymbol || !(segment === null || segment === undefined || segment.startsWith('NFO')))
    return fields;
  const parsed = parseKiteTradingsymbol(tradingsymbol);
  if (parsed === null) return fields;
  // The segment names the kind of contract; a symbol of the other kind is not trusted.
  if (segment === 'NFO-OPT' && parsed.instrumentType === 'FUT') return fields;
  if (segment === 'NFO-FUT' && parsed.instrumentType !== 'FUT') return fields;
  fields.name = parsed.name;
  fields.instrumentType = parsed.instrumentType;
  fields.strike = parsed.strike;
  fields.expiry =
    parsed.expiry ??
    (parsed.expiryMonth &&
      (monthlyExpiry(parsed.name, parsed.expiryMonth.year, parsed.expiryMonth.month, calendar) ?? null));
  return fields;
}
