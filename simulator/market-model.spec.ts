import { MINUTE_MS, SESSION_MINUTES, istInstant } from '../src/contracts/market-time';
import { createMarket } from './market';
import { GREEK_FIELDS, MarketModel, aggregate, yearsToExpiry } from './market-model';

const market = createMarket();
const { universe, model, calendar } = market;
const at = (date: string, hhmm: string): number =>
  istInstant(date, Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))).getTime();
const atm = universe.instruments.find(
  (i) => i.name === 'NIFTY' && i.kind === 'CE' && i.expiry === '2025-11-04' && i.strikeDistance === 0,
)!;
const future = universe.bySymbol('NIFTY25NOVFUT')!;
const index = universe.get(256265)!;
const illiquid = universe.instruments.find(
  (i) => i.name === 'NIFTY' && i.strikeDistance === 10 && i.kind === 'PE',
)!;
const isTick = (price: number): boolean => Math.abs(price * 20 - Math.round(price * 20)) < 1e-9;

describe('market model', () => {
  it('is a pure function of seed, instrument and minute', () => {
    const minute = at('2025-11-03', '10:30');
    const other = new MarketModel(market.seed, calendar);
    expect(other.ticks(atm, minute)).toEqual(model.ticks(atm, minute));
    // Order of computation does not matter: a later day first, then the earlier one.
    other.volumeBefore(atm, at('2025-11-04', '11:00'));
    expect(other.candle(future, minute)).toEqual(model.candle(future, minute));
    const reseeded = new MarketModel(market.seed + 1, calendar);
    expect(reseeded.candle(atm, minute)).not.toEqual(model.candle(atm, minute));
  });

  it('has ticks and candles in session minutes only', () => {
    expect(model.ticks(atm, at('2025-11-03', '09:14'))).toEqual([]);
    expect(model.ticks(atm, at('2025-11-03', '15:30'))).toEqual([]);
    expect(model.ticks(atm, at('2025-11-01', '10:00'))).toEqual([]); // Saturday
    expect(model.ticks(atm, at('2025-11-05', '10:00'))).toEqual([]); // holiday
    expect(model.ticks(atm, at('2025-11-03', '09:15')).length).toBeGreaterThan(0);
    expect(model.ticks(atm, at('2025-11-03', '15:29')).length).toBeGreaterThan(0);
    const open = at('2025-11-03', '09:15');
    let candles = 0;
    for (let i = -30; i < SESSION_MINUTES + 30; i++) if (model.candle(index, open + i * MINUTE_MS)) candles++;
    expect(candles).toBe(SESSION_MINUTES);
  });

  it('trades special sessions in their own hours: the Muhurat hour of a holiday, a Budget Sunday', () => {
    // 21 October 2025 13:45-14:45 IST (Diwali, a listed holiday) and Sunday 1 February 2026.
    const muhurat = at('2025-10-21', '13:45');
    let candles = 0;
    for (let m = at('2025-10-21', '09:00'); m < at('2025-10-21', '16:00'); m += MINUTE_MS)
      if (model.candle(index, m)) candles++;
    expect(candles).toBe(60);
    expect(model.ticks(future, at('2025-10-21', '13:44'))).toEqual([]);
    expect(model.ticks(future, muhurat).length).toBeGreaterThan(0);
    // The day volume starts at 0 at the special session's own open and grows by each candle.
    expect(model.volumeBefore(future, muhurat)).toBe(0);
    const first = model.candle(future, muhurat)!;
    expect(model.volumeBefore(future, muhurat + MINUTE_MS)).toBe(first.volume);
    expect(model.dayRange('NIFTY', at('2025-10-21', '13:00'))).toBeUndefined();
    expect(model.dayRange('NIFTY', at('2025-10-21', '14:00'))?.open).toBe(model.indexPrice('NIFTY', muhurat));
    expect(model.candle(index, at('2026-02-01', '09:15'))).toBeDefined();
    expect(model.candle(index, at('2026-01-31', '09:15'))).toBeUndefined();
  });

  it('builds each candle from its ticks: OHLC, volume delta, last OI, last non-zero greeks', () => {
    const open = at('2025-11-03', '09:15');
    for (const instrument of [atm, future, illiquid]) {
      for (let i = 0; i < SESSION_MINUTES; i += 7) {
        const minute = open + i * MINUTE_MS;
        const ticks = model.ticks(instrument, minute);
        const candle = model.candle(instrument, minute);
        if (ticks.length === 0) {
          expect(candle).toBeUndefined();
          continue;
        }
        expect(ticks.length).toBeGreaterThanOrEqual(2);
        expect(ticks.length).toBeLessThanOrEqual(30);
        expect(ticks.every((t) => t.atMs >= minute && t.atMs < minute + MINUTE_MS)).toBe(true);
        const prices = ticks.map((t) => t.price);
        expect(prices.every(isTick)).toBe(true);
        expect(candle).toMatchObject({
          open: prices[0],
          high: Math.max(...prices),
          low: Math.min(...prices),
          close: prices[prices.length - 1],
          oi: ticks[ticks.length - 1].oi,
        });
        // The first tick carries the day volume as of the end of the previous minute.
        expect(ticks[0].volume).toBe(model.volumeBefore(instrument, minute));
        expect(candle!.volume).toBe(ticks[ticks.length - 1].volume - ticks[0].volume);
        expect(candle!.volume).toBe(
          model.volumeBefore(instrument, minute + MINUTE_MS) - model.volumeBefore(instrument, minute),
        );
        expect(candle!.volume).toBeGreaterThan(0);
        expect(ticks[ticks.length - 1].oi % instrument.lot_size).toBe(0);
      }
    }
  });

  it('resets the cumulative day volume every trading day', () => {
    for (const day of ['2025-11-03', '2025-11-04', '2025-11-06']) {
      const first = model.ticks(future, at(day, '09:15'));
      expect(first[0].volume).toBe(0);
      expect(model.volumeBefore(future, at(day, '15:29'))).toBeGreaterThan(0);
    }
  });

  it('stores greeks of exactly 0 as "not computed": the candle keeps the last non-zero value, else null', () => {
    const open = at('2025-11-03', '09:15');
    let lastZero = 0;
    let allZero = 0;
    for (let i = 0; i < SESSION_MINUTES; i++) {
      const ticks = model.ticks(atm, open + i * MINUTE_MS);
      const candle = model.candle(atm, open + i * MINUTE_MS)!;
      const computed = ticks.filter((t) => t.greeks.delta !== 0);
      if (ticks[ticks.length - 1].greeks.delta === 0) lastZero++;
      if (computed.length === 0) {
        allZero++;
        for (const field of GREEK_FIELDS) expect(candle.greeks[field]).toBeNull();
      } else {
        expect(candle.greeks).toEqual(computed[computed.length - 1].greeks);
      }
    }
    expect(lastZero).toBeGreaterThan(10);
    expect(allZero).toBeGreaterThan(0);
    const futureTicks = model.ticks(future, open);
    expect(futureTicks.every((t) => GREEK_FIELDS.every((f) => t.greeks[f] === 0))).toBe(true);
  });

  it('leaves a deterministic fraction of minutes without trade for illiquid strikes', () => {
    const open = at('2025-11-03', '09:15');
    let traded = 0;
    for (let i = 0; i < SESSION_MINUTES; i++) if (model.traded(illiquid, open + i * MINUTE_MS)) traded++;
    expect(traded / SESSION_MINUTES).toBeGreaterThan(1 - illiquid.noTradeProbability - 0.1);
    expect(traded / SESSION_MINUTES).toBeLessThan(1 - illiquid.noTradeProbability + 0.1);
    for (let i = 0; i < SESSION_MINUTES; i++) expect(model.traded(atm, open + i * MINUTE_MS)).toBe(true);
  });

  it('cuts the forming minute at the clock', () => {
    const minute = at('2025-11-03', '11:00');
    const ticks = model.ticks(atm, minute);
    const cutoff = ticks[Math.floor(ticks.length / 2)].atMs;
    const partial = model.candle(atm, minute, cutoff)!;
    expect(partial).toEqual(
      aggregate(
        minute,
        ticks.filter((t) => t.atMs <= cutoff),
      ),
    );
    expect(model.candle(atm, minute, minute - 1)).toBeUndefined();
  });

  it('prices options plausibly from Black-Scholes on the simulated underlying', () => {
    const minute = at('2025-11-03', '12:00');
    const chain = universe.instruments
      .filter((i) => i.name === 'NIFTY' && i.expiry === '2025-11-25' && i.kind === 'CE')
      .sort((a, b) => a.strike - b.strike);
    const closes = chain.map((i) => model.candle(i, minute)?.close ?? Number.NaN);
    for (let i = 1; i < closes.length; i++) {
      if (!Number.isNaN(closes[i]) && !Number.isNaN(closes[i - 1]))
        expect(closes[i]).toBeLessThanOrEqual(closes[i - 1]);
    }
    const candle = model.candle(atm, minute)!;
    expect(candle.greeks.iv ?? 0.15).toBeGreaterThan(0.1);
    expect(candle.greeks.iv ?? 0.15).toBeLessThan(0.25);
    expect(Math.abs(candle.underlying! - model.indexPrice('NIFTY', minute))).toBeLessThan(100);
    const futureCandle = model.candle(future, minute)!;
    expect(futureCandle.close).toBeGreaterThan(candle.underlying!);
  });

  it('keeps time to expiry positive on any date (wraps after expiry)', () => {
    for (const date of ['2024-03-05', '2025-11-04', '2025-11-26', '2026-11-27']) {
      const years = yearsToExpiry(atm, at(date, '15:29'));
      expect(years).toBeGreaterThan(0);
      expect(years).toBeLessThanOrEqual(70 / 365);
    }
    expect(model.candle(atm, at('2026-11-27', '10:00'))).toBeDefined();
  });

  it('moves the index like a plausible random walk around its base level', () => {
    const open = at('2025-11-03', '09:15');
    const levels = Array.from({ length: SESSION_MINUTES }, (_, i) =>
      model.indexPrice('NIFTY', open + i * MINUTE_MS),
    );
    const range = (Math.max(...levels) - Math.min(...levels)) / levels[0];
    expect(range).toBeGreaterThan(0.001);
    expect(range).toBeLessThan(0.05);
    expect(levels.every(isTick)).toBe(true);
    expect(Math.abs(levels[0] / 24_500 - 1)).toBeLessThan(0.1);
  });
});
