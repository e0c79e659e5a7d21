// The simulated market: every price, volume, OI level and greek is a pure function of
// (seed, instrument, instant). A minute is built from deterministic intra-minute ticks, and a
// candle is the aggregate of those ticks, so live ticks and history agree by construction.

import {
  DAY_MS,
  IST_OFFSET_MS,
  MINUTE_MS,
  MarketCalendar,
  SESSION_CLOSE_MINUTE,
  SESSION_MINUTES,
  SESSION_OPEN_MINUTE,
  floorToMinute,
  istDateOf,
  istInstant,
} from '../src/contracts/market-time';
import { blackScholes } from './black-scholes';
import type { SimInstrument } from './instruments';
import { normal, uniform, uniformInt, valueNoise } from './random';
import { RISK_FREE_RATE, TICK_SIZE, UNDERLYINGS, UnderlyingName, UnderlyingSpec } from './underlyings';

// Module-local aliases: global lookups (Math) are slow inside jest's vm sandbox, where the
// simulator also runs in-process for end-to-end tests.
const { exp, floor, min, max, round, sqrt, log, log10, abs } = Math;

/** Greeks as the ticker sends them: a value of exactly 0 means "not computed". */
export interface Greeks {
  iv: number;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
}

export const GREEK_FIELDS = ['iv', 'delta', 'gamma', 'theta', 'vega'] as const;
export type GreekField = (typeof GREEK_FIELDS)[number];

const NOT_COMPUTED: Greeks = { iv: 0, delta: 0, gamma: 0, theta: 0, vega: 0 };

/** The state an instrument is in right after one tick. */
export interface TickState {
  /** Epoch milliseconds. */
  atMs: number;
  price: number;
  /** Cumulative day volume (units, not lots) after this tick. */
  volume: number;
  /** Open interest level (units). */
  oi: number;
  greeks: Greeks;
  /** Underlying level at the tick (options only). */
  underlying: number | null;
}

export interface ModelCandle {
  minuteMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  oi: number;
  /** Per field: the last non-zero value among the minute's ticks, else null. */
  greeks: { [K in GreekField]: number | null };
  underlying: number | null;
}

export interface DayRange {
  open: number;
  high: number;
  low: number;
  /** Last price at or before the instant asked for. */
  close: number;
}

// Streams keep unrelated draws independent of each other.
const enum Stream {
  Spot = 1,
  Iv,
  Basis,
  Oi,
  Traded,
  TradeCount,
  Lots,
  Offsets,
  LotSplit,
  Noise,
  ZeroMinute,
  ZeroLast,
  ZeroTick,
}

/** Seconds of trading time: session seconds plus one hour's worth per overnight, so gaps stay small. */
const SESSION_SECONDS = SESSION_MINUTES * 60;
const OVERNIGHT_SECONDS = 3_600;
const DAY_SECONDS = SESSION_SECONDS + OVERNIGHT_SECONDS;

export function tradingSeconds(ms: number): number {
  const shifted = ms + IST_OFFSET_MS;
  const day = floor(shifted / DAY_MS);
  const intoSession = (shifted - day * DAY_MS) / 1000 - SESSION_OPEN_MINUTE * 60;
  return day * DAY_SECONDS + min(max(intoSession, 0), SESSION_SECONDS);
}

/**
 * Octaves of value noise from 1 s to 2^17 s of trading time, amplitudes growing with the square
 * root of the period: a random walk at every scale up to about a week, and mean reversion beyond it,
 * so the level stays near the base on any date and the listed strikes stay relevant.
 */
const SPOT_OCTAVES = 18;
const SPOT_SIGMA = 2.3e-5;
const SPOT_AMPLITUDES = Array.from({ length: SPOT_OCTAVES }, (_, k) => SPOT_SIGMA * sqrt(2 ** k));
const SPOT_SCALES = Array.from({ length: SPOT_OCTAVES }, (_, k) => 1 / 2 ** k);

export function spotLevel(seed: number, spec: UnderlyingSpec, ms: number): number {
  const t = tradingSeconds(ms);
  let x = 0;
  for (let k = 0; k < SPOT_OCTAVES; k++) {
    x += SPOT_AMPLITUDES[k] * valueNoise(seed, Stream.Spot, spec.code * 64 + k, t * SPOT_SCALES[k]);
  }
  return spec.baseLevel * exp(x);
}

/**
 * Rounds to the 0.05 tick (at least one tick). Dividing an integer count of ticks by 20 prints as the
 * shortest decimal (123.45, not 123.45000000000002).
 */
const TICKS_PER_RUPEE = round(1 / TICK_SIZE);

export function roundToTick(price: number): number {
  return max(1, round(price * TICKS_PER_RUPEE)) / TICKS_PER_RUPEE;
}

/** Six significant digits; never turns a non-zero value into 0 (which would mean "not computed"). */
function significant(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const scale = 10 ** (5 - floor(log10(abs(value))));
  return Number.isFinite(scale) ? round(value * scale) / scale : value;
}

const YEAR_MS = 365 * DAY_MS;
const expiryInstants = new Map<string, number>();
const MAX_REAL_TTE_MS = 70 * DAY_MS;

/**
 * Years to expiry (15:30 IST on the expiry day). Outside the contract's life the time wraps modulo
 * the listing cycle (7 days weekly, 28 days monthly), as if the contract were listed again: history is
 * served for any session minute, so the demo works on any day, with plausible prices.
 */
export function yearsToExpiry(instrument: SimInstrument, ms: number): number {
  if (!instrument.expiry) return 0;
  let expiryMs = expiryInstants.get(instrument.expiry);
  if (expiryMs === undefined) {
    expiryMs = istInstant(instrument.expiry, SESSION_CLOSE_MINUTE).getTime();
    expiryInstants.set(instrument.expiry, expiryMs);
  }
  let remaining = expiryMs - ms;
  if (remaining <= 0 || remaining > MAX_REAL_TTE_MS) {
    const cycle = (instrument.expiryKind === 'weekly' ? 7 : 28) * DAY_MS;
    remaining = ((remaining % cycle) + cycle) % cycle || cycle;
  }
  return remaining / YEAR_MS;
}

const CACHE_LIMIT = 4_096;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
  return value;
}

export class MarketModel {
  private readonly dayVolumes = new Map<string, Float64Array>();
  private readonly indexMinutes = new Map<string, { high: number; low: number; close: number }>();

  constructor(
    readonly seed: number,
    readonly calendar: MarketCalendar,
  ) {}

  /** Underlying level, unrounded. */
  spot(name: UnderlyingName, ms: number): number {
    return spotLevel(this.seed, UNDERLYINGS[name], ms);
  }

  /** Index level as quoted (rounded to 0.05). */
  indexPrice(name: UnderlyingName, ms: number): number {
    return roundToTick(this.spot(name, ms));
  }

  /** True when the instrument trades at least once in the minute (always, for liquid ones). */
  traded(instrument: SimInstrument, minuteMs: number): boolean {
    if (!this.calendar.isSessionMinute(new Date(minuteMs))) return false;
    if (instrument.noTradeProbability === 0) return true;
    return (
      uniform(this.seed, Stream.Traded, instrument.instrument_token, minuteMs / MINUTE_MS) >=
      instrument.noTradeProbability
    );
  }

  /** Ticks of one minute, ascending; empty for a minute without trade or outside a session. */
  ticks(instrument: SimInstrument, minuteMs: number): TickState[] {
    const minute = floorToMinute(minuteMs).getTime();
    if (instrument.kind === 'INDEX') return this.indexTicks(instrument.name, minute);
    if (!this.traded(instrument, minute)) return [];
    const token = instrument.instrument_token;
    const m = minute / MINUTE_MS;
    const trades = this.tradeCount(instrument, minute);
    const lots = this.splitLots(instrument, minute, trades);
    // The first tick is no trade: it carries the day volume as of the end of the previous minute,
    // so "last minus first within the minute" equals "last minus last before the minute".
    const offsets = Array.from({ length: trades + 1 }, (_, i) =>
      uniformInt(this.seed, Stream.Offsets, 0, MINUTE_MS - 1, token, m, i),
    ).sort((a, b) => a - b);
    const zeroMinute = instrument.kind !== 'FUT' && uniform(this.seed, Stream.ZeroMinute, token, m) < 0.02;
    const zeroLast = uniform(this.seed, Stream.ZeroLast, token, m) < 0.1;
    let volume = this.volumeBefore(instrument, minute);
    const states: TickState[] = [];
    for (let i = 0; i <= trades; i++) {
      if (i > 0) volume += lots[i - 1] * instrument.lot_size;
      const atMs = minute + offsets[i];
      const zero =
        zeroMinute || (i === trades && zeroLast) || uniform(this.seed, Stream.ZeroTick, token, m, i) < 0.03;
      states.push(this.stateAt(instrument, atMs, volume, zero, i));
    }
    return states;
  }

  /** The minute's candle from its ticks up to `cutoffMs` (inclusive); undefined when none. */
  candle(
    instrument: SimInstrument,
    minuteMs: number,
    cutoffMs = Number.POSITIVE_INFINITY,
  ): ModelCandle | undefined {
    const states = this.ticks(instrument, minuteMs).filter((s) => s.atMs <= cutoffMs);
    return aggregate(floorToMinute(minuteMs).getTime(), states);
  }

  /** Cumulative day volume before the minute starts (units). */
  volumeBefore(instrument: SimInstrument, minuteMs: number): number {
    if (instrument.kind === 'INDEX') return 0;
    const day = istDateOf(new Date(minuteMs));
    // A special session (Muhurat trading, a Budget weekend) has its own hours and minute count.
    const session = this.calendar.sessionOf(day);
    const open = session.open.getTime();
    const length = round((session.close.getTime() - open) / MINUTE_MS);
    const key = `${instrument.instrument_token}|${day}`;
    let prefix = this.dayVolumes.get(key);
    if (!prefix) {
      prefix = new Float64Array(length + 1);
      for (let i = 0; i < length; i++) {
        const minute = open + i * MINUTE_MS;
        const lots = this.traded(instrument, minute)
          ? this.splitLots(instrument, minute, this.tradeCount(instrument, minute)).reduce((a, b) => a + b, 0)
          : 0;
        prefix[i + 1] = prefix[i] + lots * instrument.lot_size;
      }
      remember(this.dayVolumes, key, prefix);
    }
    const index = round((minuteMs - open) / MINUTE_MS);
    return prefix[min(max(index, 0), length)];
  }

  /** The index's day open, high, low and last price up to `ms` (inclusive), or undefined before the open. */
  dayRange(name: UnderlyingName, ms: number): DayRange | undefined {
    const day = istDateOf(new Date(ms));
    if (!this.calendar.isTradingDay(day)) return undefined;
    const session = this.calendar.sessionOf(day);
    const open = session.open.getTime();
    if (ms < open) return undefined;
    const last = min(ms, session.close.getTime() - 1_000);
    const current = floorToMinute(last).getTime();
    const range: DayRange = {
      open: this.indexPrice(name, open),
      high: 0,
      low: Number.POSITIVE_INFINITY,
      close: 0,
    };
    for (let minute = open; minute < current; minute += MINUTE_MS) {
      const bar = this.indexMinute(name, minute);
      range.high = max(range.high, bar.high);
      range.low = min(range.low, bar.low);
      range.close = bar.close;
    }
    for (const state of this.indexTicks(name, current)) {
      if (state.atMs > last) break;
      range.high = max(range.high, state.price);
      range.low = min(range.low, state.price);
      range.close = state.price;
    }
    return range;
  }

  /** The last completed session's day bar as of `ms` (for the ticker's off-hours messages). */
  lastSessionRange(name: UnderlyingName, ms: number): DayRange | undefined {
    const [session] = this.calendar.recentSessions(new Date(ms), 1);
    if (!session) return undefined;
    return this.dayRange(name, min(ms, session.close.getTime() - 1));
  }

  /** Close of the session before the one on `ms`'s day. */
  previousClose(name: UnderlyingName, ms: number): number {
    const today = istInstant(istDateOf(new Date(ms)), 0);
    const [session] = this.calendar.recentSessions(new Date(today.getTime() - 1), 1);
    return session ? this.indexPrice(name, session.close.getTime() - 1_000) : this.indexPrice(name, ms);
  }

  private indexTicks(name: UnderlyingName, minute: number): TickState[] {
    if (!this.calendar.isSessionMinute(new Date(minute))) return [];
    // The index ticks every second; it has no volume and no open interest.
    return Array.from({ length: 60 }, (_, i) => ({
      atMs: minute + i * 1_000,
      price: this.indexPrice(name, minute + i * 1_000),
      volume: 0,
      oi: 0,
      greeks: NOT_COMPUTED,
      underlying: null,
    }));
  }

  private indexMinute(name: UnderlyingName, minute: number): { high: number; low: number; close: number } {
    const key = `${name}|${minute}`;
    const cached = this.indexMinutes.get(key);
    if (cached) return cached;
    const states = this.indexTicks(name, minute);
    let high = 0;
    let low = Number.POSITIVE_INFINITY;
    for (const state of states) {
      high = max(high, state.price);
      low = min(low, state.price);
    }
    return remember(this.indexMinutes, key, { high, low, close: states[states.length - 1].price });
  }

  private tradeCount(instrument: SimInstrument, minute: number): number {
    const [min, max] =
      instrument.kind === 'FUT' ? [9, 29] : instrument.noTradeProbability > 0 ? [1, 4] : [4, 29];
    return uniformInt(
      this.seed,
      Stream.TradeCount,
      min,
      max,
      instrument.instrument_token,
      minute / MINUTE_MS,
    );
  }

  /** Lots traded by each trade of the minute (each at least one lot). */
  private splitLots(instrument: SimInstrument, minute: number, trades: number): number[] {
    const token = instrument.instrument_token;
    const m = minute / MINUTE_MS;
    const activity =
      instrument.kind === 'FUT'
        ? 400
        : instrument.noTradeProbability > 0
          ? 6
          : round(320 * exp(-(instrument.strikeDistance ** 2) / 12)) + 10;
    const extra = uniformInt(this.seed, Stream.Lots, 0, activity, token, m);
    const weights = Array.from(
      { length: trades },
      (_, i) => uniform(this.seed, Stream.LotSplit, token, m, i) + 0.05,
    );
    const total = weights.reduce((a, b) => a + b, 0);
    const lots = weights.map((w) => 1 + floor((extra * w) / total));
    lots[trades - 1] += extra - lots.reduce((a, b) => a + b - 1, 0);
    return lots;
  }

  private stateAt(
    instrument: SimInstrument,
    atMs: number,
    volume: number,
    zeroGreeks: boolean,
    i: number,
  ): TickState {
    const spec = UNDERLYINGS[instrument.name];
    const spot = this.spot(instrument.name, atMs);
    const t = tradingSeconds(atMs);
    const years = yearsToExpiry(instrument, atMs);
    const token = instrument.instrument_token;
    const oi = this.oiLevel(instrument, t);
    if (instrument.kind === 'FUT') {
      const basis = 2.5 * valueNoise(this.seed, Stream.Basis, token, t / 600);
      return {
        atMs,
        price: roundToTick(spot * exp(RISK_FREE_RATE * years) + basis),
        volume,
        oi,
        greeks: NOT_COMPUTED,
        underlying: null,
      };
    }
    const right = instrument.kind === 'CE' ? 'CE' : 'PE';
    const moneyness = log(instrument.strike / spot);
    const iv = min(
      0.35,
      max(
        0.1,
        spec.baseIv +
          0.02 * valueNoise(this.seed, Stream.Iv, spec.code, t / 7_200) +
          3 * moneyness * moneyness -
          0.3 * moneyness,
      ),
    );
    const valuation = blackScholes(right, spot, instrument.strike, years, RISK_FREE_RATE, iv);
    // Prints scatter a little around the model value, as trades hit the bid or the ask.
    const noise = 1 + 0.001 * normal(this.seed, Stream.Noise, token, atMs, i);
    const greeks: Greeks = zeroGreeks
      ? NOT_COMPUTED
      : {
          iv: round(iv * 10_000) / 10_000,
          delta: significant(valuation.delta),
          gamma: significant(valuation.gamma),
          theta: significant(valuation.theta),
          vega: significant(valuation.vega),
        };
    return {
      atMs,
      price: roundToTick(valuation.price * noise),
      volume,
      oi,
      greeks,
      underlying: roundToTick(spot),
    };
  }

  private oiLevel(instrument: SimInstrument, t: number): number {
    const token = instrument.instrument_token;
    const base =
      instrument.kind === 'FUT'
        ? 180_000
        : (instrument.expiryKind === 'monthly' ? 0.6 : 1) *
          (1_500 + 45_000 * exp(-(instrument.strikeDistance ** 2) / 40));
    const drift =
      1 +
      0.3 * valueNoise(this.seed, Stream.Oi, token * 2, t / 20_000) +
      0.01 * valueNoise(this.seed, Stream.Oi, token * 2 + 1, t / 300);
    return max(1, round(base * drift)) * instrument.lot_size;
  }
}

/** A candle from the ticks of its minute; undefined when there are none. */
export function aggregate(minuteMs: number, states: readonly TickState[]): ModelCandle | undefined {
  if (states.length === 0) return undefined;
  const first = states[0];
  const last = states[states.length - 1];
  const candle: ModelCandle = {
    minuteMs,
    open: first.price,
    high: first.price,
    low: first.price,
    close: last.price,
    volume: last.volume - first.volume,
    oi: last.oi,
    greeks: { iv: null, delta: null, gamma: null, theta: null, vega: null },
    underlying: last.underlying,
  };
  for (const state of states) {
    candle.high = max(candle.high, state.price);
    candle.low = min(candle.low, state.price);
    for (const field of GREEK_FIELDS)
      if (state.greeks[field] !== 0) candle.greeks[field] = state.greeks[field];
  }
  return candle;
}
