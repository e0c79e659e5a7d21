import { Candle } from '../market-data/market-data.types';
import { DAY_MS, IST_OFFSET_MS, MINUTE_MS } from '../contracts/market-time';
import { FoTick, GREEKS, GreekValues } from './fo-tick.parser';

interface OpenBar {
  token: number;
  minuteMs: number;
  open: number;
  openAtMs: number;
  high: number;
  low: number;
  close: number;
  closeAtMs: number;
  volume: number;
  oi: number | null;
  greeks: GreekValues;
  underlyingClose: number | null;
}

interface InstrumentState {
  lastTimeMs: number;
  /** IST day number of `lastTimeMs`: the day volume restarts with each trading day. */
  lastDay: number;
  lastDayVolume: number | null;
}

function istDayNumber(ms: number): number {
  return Math.floor((ms + IST_OFFSET_MS) / DAY_MS);
}

/**
 * Folds ticks into one bar per instrument per open minute (minute = floor of the tick time, UTC).
 * Synchronous and allocation-light: it runs inside the Redis message handler.
 */
export class FoBarBuilder {
  /** minute start (ms) -> token -> bar. Few minutes are open at once; closing one is a single delete. */
  private readonly minutes = new Map<number, Map<number, OpenBar>>();
  private readonly instruments = new Map<number, InstrumentState>();
  private readonly underlyingLevels = new Map<string, number>();
  private open = 0;

  get openBars(): number {
    return this.open;
  }

  get instrumentCount(): number {
    return this.instruments.size;
  }

  add(tick: FoTick, isUnderlying: boolean): void {
    const delta = this.volumeDelta(tick);
    const minuteMs = Math.floor(tick.timeMs / MINUTE_MS) * MINUTE_MS;
    const underlyingClose =
      isUnderlying || !tick.symbol ? null : (this.underlyingLevels.get(tick.symbol) ?? null);
    if (isUnderlying && tick.symbol) this.underlyingLevels.set(tick.symbol, tick.price);

    let bars = this.minutes.get(minuteMs);
    if (!bars) {
      bars = new Map();
      this.minutes.set(minuteMs, bars);
    }
    const bar = bars.get(tick.token);
    if (!bar) {
      bars.set(tick.token, {
        token: tick.token,
        minuteMs,
        open: tick.price,
        openAtMs: tick.timeMs,
        high: tick.price,
        low: tick.price,
        close: tick.price,
        closeAtMs: tick.timeMs,
        volume: delta,
        oi: tick.oi,
        greeks: { ...tick.greeks },
        underlyingClose,
      });
      this.open++;
      return;
    }
    if (tick.price > bar.high) bar.high = tick.price;
    if (tick.price < bar.low) bar.low = tick.price;
    bar.volume += delta;
    if (tick.timeMs < bar.openAtMs) {
      bar.open = tick.price;
      bar.openAtMs = tick.timeMs;
    }
    // Ticks of one second arrive in order, so ">=" lets the later of two same-second ticks win.
    const latest = tick.timeMs >= bar.closeAtMs;
    if (latest) {
      bar.close = tick.price;
      bar.closeAtMs = tick.timeMs;
      if (underlyingClose !== null) bar.underlyingClose = underlyingClose;
    }
    if (tick.oi !== null && (latest || bar.oi === null)) bar.oi = tick.oi;
    for (const name of GREEKS) {
      const value = tick.greeks[name];
      if (value !== null && (latest || bar.greeks[name] === null)) bar.greeks[name] = value;
    }
  }

  /** Removes and returns the bars of every minute that ended at or before `cutoffMs`. */
  closeDue(cutoffMs: number): Candle[] {
    const closed: Candle[] = [];
    for (const [minuteMs, bars] of this.minutes) {
      if (minuteMs + MINUTE_MS > cutoffMs) continue;
      this.minutes.delete(minuteMs);
      this.open -= bars.size;
      for (const bar of bars.values()) closed.push(toCandle(bar));
    }
    return closed;
  }

  /** Removes and returns every open bar (shutdown: the session's last minute is not left behind). */
  closeAll(): Candle[] {
    return this.closeDue(Number.POSITIVE_INFINITY);
  }

  /** Instruments whose latest tick is at or after `sinceMs`. */
  tokensSeenSince(sinceMs: number): number[] {
    const tokens: number[] = [];
    for (const [token, state] of this.instruments) if (state.lastTimeMs >= sinceMs) tokens.push(token);
    return tokens;
  }

  /**
   * The increase of the cumulative day volume since this instrument's previous tick. The first tick
   * seen (of the process or of a new IST day) is the base and adds nothing; a drop is an upstream
   * reset and also becomes the base, so a bar's volume is never negative. A tick older than the
   * latest one already folded adds nothing: the later tick already counted its volume.
   */
  private volumeDelta(tick: FoTick): number {
    let state = this.instruments.get(tick.token);
    const day = istDayNumber(tick.timeMs);
    if (!state) {
      state = { lastTimeMs: tick.timeMs, lastDay: day, lastDayVolume: tick.dayVolume };
      this.instruments.set(tick.token, state);
      return 0;
    }
    if (tick.timeMs < state.lastTimeMs) return 0;
    let delta = 0;
    if (tick.dayVolume !== null) {
      const previous = state.lastDayVolume;
      if (previous !== null && state.lastDay === day && tick.dayVolume >= previous)
        delta = tick.dayVolume - previous;
      state.lastDayVolume = tick.dayVolume;
    }
    state.lastTimeMs = tick.timeMs;
    state.lastDay = day;
    return delta;
  }
}

function toCandle(bar: OpenBar): Candle {
  return {
    instrumentToken: bar.token,
    time: new Date(bar.minuteMs),
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    oi: bar.oi,
    iv: bar.greeks.iv,
    delta: bar.greeks.delta,
    gamma: bar.greeks.gamma,
    theta: bar.greeks.theta,
    vega: bar.greeks.vega,
    underlyingClose: bar.underlyingClose,
  };
}

/**
 * Coalesces a later part of a minute into an earlier one with the rule the database applies to a
 * late part (open kept, high = max, low = min, close = later, volume = sum, levels = later known).
 */
export function mergeParts(earlier: Candle, later: Candle): Candle {
  return {
    instrumentToken: earlier.instrumentToken,
    time: earlier.time,
    open: earlier.open,
    high: Math.max(earlier.high, later.high),
    low: Math.min(earlier.low, later.low),
    close: later.close,
    volume: earlier.volume + later.volume,
    oi: later.oi ?? earlier.oi,
    iv: later.iv ?? earlier.iv,
    delta: later.delta ?? earlier.delta,
    gamma: later.gamma ?? earlier.gamma,
    theta: later.theta ?? earlier.theta,
    vega: later.vega ?? earlier.vega,
    underlyingClose: later.underlyingClose ?? earlier.underlyingClose,
  };
}
