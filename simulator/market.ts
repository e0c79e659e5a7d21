// The simulated market without any I/O: calendar, price model and instrument universe. Used by the
// running simulator and by the TEST_INSTRUMENTS.json generator.

import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  MarketCalendar,
  SpecialSession,
} from '../src/contracts/market-time';
import { Universe, buildUniverse } from './instruments';
import { MarketModel } from './market-model';
import { UNDERLYING_NAMES, UnderlyingName } from './underlyings';

export interface MarketOptions {
  /** Any 32-bit unsigned integer; the same seed gives the same prices everywhere. Default 42. */
  seed?: number;
  /**
   * IST date whose listing (expiries, ATM strike) the universe reproduces. Default 2025-11-03, a
   * Monday: weekly expiries 4 and 11 November, monthly 25 November, next month 30 December.
   */
  referenceDate?: string;
  /** NSE holidays (IST dates). Default DEFAULT_NSE_HOLIDAYS. */
  holidays?: readonly string[];
  /**
   * Special sessions (`YYYY-MM-DD@HH:MM-HH:MM` IST, or parsed). Default DEFAULT_NSE_SPECIAL_SESSIONS,
   * the service's default too, so both calendars agree out of the box.
   */
  specialSessions?: readonly (string | SpecialSession)[];
  /** Default all three. */
  underlyings?: readonly UnderlyingName[];
  /** Strikes each side of ATM. Default 10. */
  strikesEachSide?: number;
  /** NIFTY weekly expiries listed besides the monthly one. Default 2. */
  weeklyExpiries?: number;
}

export const MARKET_DEFAULTS = {
  seed: 42,
  referenceDate: '2025-11-03',
  underlyings: UNDERLYING_NAMES,
  strikesEachSide: 10,
  weeklyExpiries: 2,
} as const;

export interface Market {
  seed: number;
  referenceDate: string;
  calendar: MarketCalendar;
  model: MarketModel;
  universe: Universe;
}

export function createMarket(options: MarketOptions = {}): Market {
  const seed = options.seed ?? MARKET_DEFAULTS.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`seed must be a 32-bit unsigned integer, got ${seed}`);
  const strikesEachSide = options.strikesEachSide ?? MARKET_DEFAULTS.strikesEachSide;
  const weeklyExpiries = options.weeklyExpiries ?? MARKET_DEFAULTS.weeklyExpiries;
  if (!Number.isInteger(strikesEachSide) || strikesEachSide < 0 || strikesEachSide > 200) {
    throw new Error(`strikesEachSide must be an integer between 0 and 200, got ${strikesEachSide}`);
  }
  if (!Number.isInteger(weeklyExpiries) || weeklyExpiries < 0 || weeklyExpiries > 12) {
    throw new Error(`weeklyExpiries must be an integer between 0 and 12, got ${weeklyExpiries}`);
  }
  const calendar = new MarketCalendar(
    options.holidays ?? DEFAULT_NSE_HOLIDAYS,
    options.specialSessions ?? DEFAULT_NSE_SPECIAL_SESSIONS,
  );
  const model = new MarketModel(seed, calendar);
  const referenceDate = options.referenceDate ?? MARKET_DEFAULTS.referenceDate;
  const universe = buildUniverse({
    referenceDate,
    calendar,
    underlyings: options.underlyings ?? MARKET_DEFAULTS.underlyings,
    strikesEachSide,
    weeklyExpiries,
    spotAt: (name, instant) => model.spot(name, instant.getTime()),
  });
  return { seed, referenceDate, calendar, model, universe };
}
