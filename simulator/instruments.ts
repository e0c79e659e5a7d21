// The instrument universe: NIFTY (and optionally BANKNIFTY, FINNIFTY) index, futures and option
// chains as Kite lists them on the reference date, with Kite's tradingsymbol formats and expiry rules.

import { DAY_MS, MarketCalendar } from '../src/contracts/market-time';
import { monthlyExpiry as nseMonthlyExpiry, movedBackOverHolidays } from '../src/contracts/nfo-expiry';
import { KITE_INSTRUMENT_COLUMNS } from '../src/contracts/ticker.contracts';
import { TICK_SIZE, UNDERLYINGS, UnderlyingName, UnderlyingSpec } from './underlyings';

export type InstrumentKind = 'INDEX' | 'FUT' | 'CE' | 'PE';
export type ExpiryKind = 'weekly' | 'monthly';

export interface SimInstrument {
  instrument_token: number;
  tradingsymbol: string;
  /** Underlying name (`symbol` in ticks, `name` in Kite's instrument dump). */
  name: UnderlyingName;
  segment: 'INDICES' | 'NFO-FUT' | 'NFO-OPT';
  exchange: 'NSE' | 'NFO';
  kind: InstrumentKind;
  /** 0 for the index and futures. */
  strike: number;
  /** `YYYY-MM-DD`; null for the index. */
  expiry: string | null;
  expiryKind: ExpiryKind | null;
  lot_size: number;
  tick_size: number;
  /** Strikes away from the at-the-money strike of the reference date (0 for index and futures). */
  strikeDistance: number;
  /** Fraction of session minutes without any trade (no candle, no tick). */
  noTradeProbability: number;
}

export interface UniverseOptions {
  /** IST date whose listing the universe reproduces. */
  referenceDate: string;
  calendar: MarketCalendar;
  underlyings: readonly UnderlyingName[];
  /** Strikes on each side of the at-the-money strike. */
  strikesEachSide: number;
  /** Nearest weekly expiries listed for NIFTY (the current monthly expiry is always listed). */
  weeklyExpiries: number;
  /** Underlying level at an instant; the ATM strike is taken at the reference session's open. */
  spotAt: (name: UnderlyingName, instant: Date) => number;
}

export interface Universe {
  readonly referenceDate: string;
  readonly instruments: readonly SimInstrument[];
  /** At-the-money strike per underlying on the reference date. */
  readonly atm: Readonly<Partial<Record<UnderlyingName, number>>>;
  get(token: number): SimInstrument | undefined;
  bySymbol(tradingsymbol: string): SimInstrument | undefined;
}

/** Far strikes trade in bursts; from this distance (in strikes) a fraction of minutes has no trade. */
export const ILLIQUID_FROM_STRIKES = 6;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKLY_MONTH_CODES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'O', 'N', 'D'];
const TUESDAY = 2;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/**
 * An expiry falling on a holiday moves to the previous trading day (NSE rule); a day with only a
 * special session (Muhurat trading on a holiday) is no expiry day either.
 */
export const adjustForHolidays = movedBackOverHolidays;

/**
 * Monthly expiry: the month's last expiry weekday (Tuesday since September 2025, Thursday before),
 * moved back over holidays: the rule the service derives monthly tradingsymbols' expiries with.
 * Every underlying follows NIFTY's rule here, also in years where the others differed.
 */
export function monthlyExpiry(year: number, month: number, calendar: MarketCalendar): string {
  return nseMonthlyExpiry('NIFTY', year, month, calendar)!;
}

/** The first monthly expiry on or after `date`, and the one after it. */
export function monthlyExpiriesFrom(date: string, calendar: MarketCalendar, count: number): string[] {
  const expiries: string[] = [];
  let year = Number(date.slice(0, 4));
  let month = Number(date.slice(5, 7));
  while (expiries.length < count) {
    const expiry = monthlyExpiry(year, month, calendar);
    if (expiry >= date) expiries.push(expiry);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
  return expiries;
}

/** NIFTY weekly expiries (Tuesdays, moved back over holidays) on or after `date`. */
export function weeklyExpiriesFrom(date: string, calendar: MarketCalendar, count: number): string[] {
  const expiries: string[] = [];
  let tuesday = addDays(date, (TUESDAY - weekday(date) + 7) % 7);
  while (expiries.length < count) {
    const expiry = adjustForHolidays(tuesday, calendar);
    if (expiry >= date) expiries.push(expiry);
    tuesday = addDays(tuesday, 7);
  }
  return expiries;
}

export function isMonthlyExpiry(expiry: string, calendar: MarketCalendar): boolean {
  return monthlyExpiry(Number(expiry.slice(0, 4)), Number(expiry.slice(5, 7)), calendar) === expiry;
}

/** `NIFTY25NOV` (futures and monthly options). */
function monthlyPrefix(name: string, expiry: string): string {
  return `${name}${expiry.slice(2, 4)}${MONTHS[Number(expiry.slice(5, 7)) - 1]}`;
}

export function futureSymbol(name: string, expiry: string): string {
  return `${monthlyPrefix(name, expiry)}FUT`;
}

/** Monthly `NIFTY25NOV24500CE`; weekly `NIFTY25N0424500CE` (month code 1-9, O, N, D). */
export function optionSymbol(
  name: string,
  expiry: string,
  expiryKind: ExpiryKind,
  strike: number,
  right: 'CE' | 'PE',
): string {
  if (expiryKind === 'monthly') return `${monthlyPrefix(name, expiry)}${strike}${right}`;
  const monthCode = WEEKLY_MONTH_CODES[Number(expiry.slice(5, 7)) - 1];
  return `${name}${expiry.slice(2, 4)}${monthCode}${expiry.slice(8, 10)}${strike}${right}`;
}

const TOKEN_BITS = 23;
const TOKEN_MASK = (1 << TOKEN_BITS) - 1;
const TOKEN_EPOCH = Date.parse('2024-01-01T00:00:00Z');
/** Kite's segment byte for NFO: instrument_token = exchange_token * 256 + 2. */
const NFO_SEGMENT = 2;

/**
 * Instrument token of a derivative: a pure function of the contract, so the same contract has the
 * same token in every universe (any seed, any reference date). The packed fields (underlying 2 bits,
 * right 2, expiry day mod 512 9, strike/step mod 1024 10) go through a bijection on 23 bits, so two
 * listed contracts never collide unless their expiries are 512 days apart, and the tokens look like
 * Kite's (NFO segment byte, below 2^31).
 */
export function contractToken(
  spec: UnderlyingSpec,
  kind: 'FUT' | 'CE' | 'PE',
  expiry: string,
  strike: number,
): number {
  const kindCode = kind === 'FUT' ? 2 : kind === 'CE' ? 0 : 1;
  const day = Math.round((Date.parse(`${expiry}T00:00:00Z`) - TOKEN_EPOCH) / DAY_MS);
  const strikeIndex = kind === 'FUT' ? 0 : Math.round(strike / spec.strikeStep);
  let x =
    (((((spec.code << 2) | kindCode) << 9) | (((day % 512) + 512) % 512)) << 10) |
    (((strikeIndex % 1024) + 1024) % 1024);
  for (let round = 0; round < 2; round++) {
    x = Math.imul(x, 0x2c1b3c6d) & TOKEN_MASK;
    x ^= x >>> 12;
    x = (x + 0x5a3c71) & TOKEN_MASK;
  }
  return x * 256 + NFO_SEGMENT;
}

function liquidity(distance: number): number {
  return distance < ILLIQUID_FROM_STRIKES
    ? 0
    : Math.min(0.8, 0.25 + 0.1 * (distance - ILLIQUID_FROM_STRIKES));
}

export function buildUniverse(options: UniverseOptions): Universe {
  const { referenceDate, calendar } = options;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(referenceDate) || Number.isNaN(Date.parse(referenceDate))) {
    throw new Error(`invalid reference date: ${referenceDate}`);
  }
  const instruments: SimInstrument[] = [];
  const atm: Partial<Record<UnderlyingName, number>> = {};
  // The ATM strike is read at the open of the reference day (or the next session when it is not
  // a trading day), the moment a listing like Kite's instrument dump would be taken.
  let listingDay = referenceDate;
  for (let guard = 0; !calendar.isTradingDay(listingDay) && guard < 30; guard++)
    listingDay = addDays(listingDay, 1);
  const listingInstant = calendar.sessionOf(listingDay).open;

  for (const name of options.underlyings) {
    const spec = UNDERLYINGS[name];
    instruments.push({
      instrument_token: spec.indexToken,
      tradingsymbol: spec.indexSymbol,
      name,
      segment: 'INDICES',
      exchange: 'NSE',
      kind: 'INDEX',
      strike: 0,
      expiry: null,
      expiryKind: null,
      lot_size: 0,
      tick_size: TICK_SIZE,
      strikeDistance: 0,
      noTradeProbability: 0,
    });
    const [currentMonthly, nextMonthly] = monthlyExpiriesFrom(referenceDate, calendar, 2);
    for (const expiry of [currentMonthly, nextMonthly]) {
      instruments.push({
        instrument_token: contractToken(spec, 'FUT', expiry, 0),
        tradingsymbol: futureSymbol(name, expiry),
        name,
        segment: 'NFO-FUT',
        exchange: 'NFO',
        kind: 'FUT',
        strike: 0,
        expiry,
        expiryKind: 'monthly',
        lot_size: spec.lotSize,
        tick_size: TICK_SIZE,
        strikeDistance: 0,
        noTradeProbability: 0,
      });
    }
    const optionExpiries = new Set<string>([currentMonthly]);
    if (spec.weeklyOptions) {
      for (const expiry of weeklyExpiriesFrom(referenceDate, calendar, options.weeklyExpiries)) {
        optionExpiries.add(expiry);
      }
    }
    const center = Math.round(options.spotAt(name, listingInstant) / spec.strikeStep) * spec.strikeStep;
    atm[name] = center;
    for (const expiry of [...optionExpiries].sort()) {
      const expiryKind: ExpiryKind = isMonthlyExpiry(expiry, calendar) ? 'monthly' : 'weekly';
      for (let offset = -options.strikesEachSide; offset <= options.strikesEachSide; offset++) {
        const strike = center + offset * spec.strikeStep;
        for (const right of ['CE', 'PE'] as const) {
          instruments.push({
            instrument_token: contractToken(spec, right, expiry, strike),
            tradingsymbol: optionSymbol(name, expiry, expiryKind, strike, right),
            name,
            segment: 'NFO-OPT',
            exchange: 'NFO',
            kind: right,
            strike,
            expiry,
            expiryKind,
            lot_size: spec.lotSize,
            tick_size: TICK_SIZE,
            strikeDistance: Math.abs(offset),
            noTradeProbability: liquidity(Math.abs(offset)),
          });
        }
      }
    }
  }

  const byToken = new Map<number, SimInstrument>();
  const bySymbol = new Map<string, SimInstrument>();
  for (const instrument of instruments) {
    const clash = byToken.get(instrument.instrument_token);
    if (clash) {
      throw new Error(
        `token ${instrument.instrument_token} of ${instrument.tradingsymbol} clashes with ${clash.tradingsymbol}`,
      );
    }
    byToken.set(instrument.instrument_token, instrument);
    bySymbol.set(instrument.tradingsymbol, instrument);
  }
  return {
    referenceDate,
    instruments,
    atm,
    get: (token) => byToken.get(token),
    bySymbol: (symbol) => bySymbol.get(symbol),
  };
}

const csvField = (value: string): string => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/**
 * The universe as Kite's instrument list (`GET /instruments`, `GET /instruments/{exchange}`): its
 * CSV columns (KITE_INSTRUMENT_COLUMNS), `name` quoted like Kite's, no last price, the indices
 * without a tick or a lot (0). `exchange` keeps that exchange's lines only.
 */
export function instrumentListCsv(universe: Universe, exchange?: string): string {
  const lines: string[] = [KITE_INSTRUMENT_COLUMNS.join(',')];
  for (const i of universe.instruments) {
    if (exchange !== undefined && i.exchange !== exchange) continue;
    const index = i.kind === 'INDEX';
    lines.push(
      [
        String(i.instrument_token),
        String(i.instrument_token >> 8),
        csvField(i.tradingsymbol),
        `"${i.name}"`,
        '0',
        i.expiry ?? '',
        String(i.strike),
        String(index ? 0 : i.tick_size),
        String(index ? 0 : i.lot_size),
        index ? 'EQ' : i.kind,
        i.segment,
        i.exchange,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
