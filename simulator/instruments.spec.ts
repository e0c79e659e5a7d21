import { DEFAULT_NSE_HOLIDAYS, MarketCalendar } from '../src/contracts/market-time';
import {
  adjustForHolidays,
  contractToken,
  futureSymbol,
  monthlyExpiry,
  optionSymbol,
  weeklyExpiriesFrom,
} from './instruments';
import { createMarket } from './market';
import { UNDERLYINGS } from './underlyings';

const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);
const weekday = (date: string): number => new Date(`${date}T00:00:00Z`).getUTCDay();

describe('instrument universe', () => {
  const market = createMarket();
  const { universe } = market;

  it('writes tradingsymbols in Kite formats', () => {
    expect(futureSymbol('NIFTY', '2025-11-25')).toBe('NIFTY25NOVFUT');
    expect(optionSymbol('NIFTY', '2025-11-25', 'monthly', 24_500, 'CE')).toBe('NIFTY25NOV24500CE');
    expect(optionSymbol('NIFTY', '2025-11-04', 'weekly', 24_500, 'PE')).toBe('NIFTY25N0424500PE');
    expect(optionSymbol('NIFTY', '2025-10-07', 'weekly', 25_000, 'CE')).toBe('NIFTY25O0725000CE');
    expect(optionSymbol('NIFTY', '2025-12-09', 'weekly', 26_000, 'CE')).toBe('NIFTY25D0926000CE');
    expect(optionSymbol('NIFTY', '2026-01-06', 'weekly', 26_000, 'CE')).toBe('NIFTY2610626000CE');
    for (const instrument of universe.instruments) {
      if (instrument.segment === 'NFO-OPT') {
        expect(instrument.tradingsymbol).toMatch(
          /^(NIFTY|BANKNIFTY|FINNIFTY)\d{2}([A-Z]{3}|[1-9OND]\d{2})\d+(CE|PE)$/,
        );
        expect(instrument.exchange).toBe('NFO');
      }
      if (instrument.segment === 'NFO-FUT')
        expect(instrument.tradingsymbol).toMatch(/^[A-Z]+\d{2}[A-Z]{3}FUT$/);
    }
  });

  it('lists the index, two futures and the option chains of the reference date', () => {
    expect(universe.get(256265)?.tradingsymbol).toBe('NIFTY 50');
    expect(universe.get(256265)?.segment).toBe('INDICES');
    expect(universe.get(260105)?.tradingsymbol).toBe('NIFTY BANK');
    expect(universe.get(257801)?.tradingsymbol).toBe('NIFTY FIN SERVICE');
    expect(universe.bySymbol('NIFTY25NOVFUT')?.segment).toBe('NFO-FUT');
    expect(universe.bySymbol('NIFTY25DECFUT')?.expiry).toBe('2025-12-30');
    const niftyExpiries = new Set(
      universe.instruments.filter((i) => i.name === 'NIFTY' && i.kind === 'CE').map((i) => i.expiry),
    );
    expect([...niftyExpiries].sort()).toEqual(['2025-11-04', '2025-11-11', '2025-11-25']);
    const nifty = universe.instruments.filter((i) => i.name === 'NIFTY' && i.segment === 'NFO-OPT');
    expect(nifty.every((i) => i.lot_size === 75 && i.tick_size === 0.05 && i.strike % 50 === 0)).toBe(true);
    const chain = nifty.filter((i) => i.expiry === '2025-11-04' && i.kind === 'CE').map((i) => i.strike);
    expect(chain).toHaveLength(21);
    expect(chain).toContain(universe.atm.NIFTY);
    expect(universe.bySymbol('NIFTY25NOV24500CE')).toBeDefined();
  });

  it('puts expiries on Tuesdays, monthly on the last Tuesday, and moves them back over holidays', () => {
    expect(monthlyExpiry(2025, 11, calendar)).toBe('2025-11-25');
    expect(monthlyExpiry(2025, 12, calendar)).toBe('2025-12-30');
    // 2026-03-31 (last Tuesday of March) is a holiday: the expiry moves to Monday 30 March.
    expect(monthlyExpiry(2026, 3, calendar)).toBe('2026-03-30');
    // 2026-11-24 (Tuesday) is a holiday: the weekly expiry moves to Monday 23 November.
    expect(weeklyExpiriesFrom('2026-11-19', calendar, 2)).toEqual(['2026-11-23', '2026-12-01']);
    expect(adjustForHolidays('2025-11-01', calendar)).toBe('2025-10-31');
    for (const instrument of universe.instruments) {
      if (!instrument.expiry) continue;
      expect(calendar.isTradingDay(instrument.expiry)).toBe(true);
      expect(weekday(instrument.expiry)).toBe(2);
    }
    for (const expiry of weeklyExpiriesFrom('2025-01-01', calendar, 60)) {
      expect(calendar.isTradingDay(expiry)).toBe(true);
      expect(weekday(expiry) === 2 || !calendar.isTradingDay(nextDay(expiry))).toBe(true);
    }
  });

  it('derives tokens from the contract alone: unique, Kite-like, stable across seeds and dates', () => {
    const tokens = universe.instruments.map((i) => i.instrument_token);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const instrument of universe.instruments) {
      if (instrument.kind === 'INDEX') continue;
      expect(instrument.instrument_token % 256).toBe(2);
      expect(instrument.instrument_token).toBeLessThan(2 ** 31);
    }
    const other = createMarket({ seed: 7, referenceDate: '2025-11-10', strikesEachSide: 30 }).universe;
    for (const instrument of universe.instruments) {
      const same = other.bySymbol(instrument.tradingsymbol);
      if (same) expect(same.instrument_token).toBe(instrument.instrument_token);
    }
    const spec = UNDERLYINGS.NIFTY;
    expect(contractToken(spec, 'CE', '2025-11-25', 24_500)).toBe(
      universe.bySymbol('NIFTY25NOV24500CE')?.instrument_token,
    );
    expect(contractToken(spec, 'CE', '2025-11-25', 24_500)).not.toBe(
      contractToken(spec, 'PE', '2025-11-25', 24_500),
    );
  });

  it('is deterministic for a seed and reference date', () => {
    const again = createMarket();
    expect(again.universe.instruments).toEqual(universe.instruments);
  });

  it('marks far strikes illiquid', () => {
    const far = universe.instruments.filter((i) => i.strikeDistance >= 6);
    const near = universe.instruments.filter((i) => i.segment === 'NFO-OPT' && i.strikeDistance < 6);
    expect(far.every((i) => i.noTradeProbability > 0)).toBe(true);
    expect(near.every((i) => i.noTradeProbability === 0)).toBe(true);
  });
});

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
