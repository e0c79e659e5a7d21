import { Candle } from '../market-data/market-data.types';
import { DAY_MS, IST_OFFSET_MS, MINUTE_MS } from '../contracts/market-time';
import { FO_LATE_RETENTION_MS } from './fo-stream.constants';
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
  /** The highest cumulative day volume seen this IST day; null while none is known. */
  base: number | null;
  /** Time of the latest tick whose total was at or above the base (kept it current). */
  baseAtMs: number;
}

function istDayNumber(ms: number): number {
  return Math.floor((ms + IST_OFFSET_MS) / DAY_MS);
}

/** One minute's bars. A closed minute stays (retained) for FO_LATE_RETENTION_MS so a late tick can revise it. */
interface MinuteBars {
  bars: Map<number, OpenBar>;
  closed: boolean;
  /** Tokens of retained bars changed since they were last handed out. */
  revised: Set<number>;
}

/**
 * Folds ticks into one bar per instrument per minute (minute = floor of the tick time, UTC).
 * Synchronous and allocation-light: it runs inside the Redis message handler.
 *
 * Every bar handed out is the full state of its minute as this process knows it, never a part: the
 * database merge is then idempotent, so a retried write and the same minute written by each replica
 * never count volume twice. A closed minute is kept for FO_LATE_RETENTION_MS after its cutoff; a late
 * tick revises the kept bar and `takeRevised()` hands out its new full state. A tick for a minute past
 * the retention is refused (`add` returns false): the history backfill owns that minute.
 */
export class FoBarBuilder {
  /** minute start (ms) -> bars. Few minutes are open or retained at once; dropping one is a single delete. */
  private readonly minutes = new Map<number, MinuteBars>();
  private readonly instruments = new Map<number, InstrumentState>();
  private readonly underlyingLevels = new Map<string, number>();
  private open = 0;
  private retained = 0;
  private revisedCount = 0;
  /** The latest cutoff passed to closeDue: minutes ending at or before it are closed. */
  private cutoffMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly retentionMs = FO_LATE_RETENTION_MS) {}

  get openBars(): number {
    return this.open;
  }

  /** Bars of closed minutes kept for late ticks. */
  get retainedBars(): number {
    return this.retained;
  }

  get instrumentCount(): number {
    return this.instruments.size;
  }

  /** Folds a tick; false (and nothing folded) when its minute closed longer ago than the retention. */
  add(tick: FoTick, isUnderlying: boolean): boolean {
    const minuteMs = Math.floor(tick.timeMs / MINUTE_MS) * MINUTE_MS;
    if (minuteMs + MINUTE_MS + this.retentionMs <= this.cutoffMs) return false;
    const delta = this.volumeDelta(tick);
    const underlyingClose =
      isUnderlying || !tick.symbol ? null : (this.underlyingLevels.get(tick.symbol) ?? null);
    if (isUnderlying && tick.symbol) this.underlyingLevels.set(tick.symbol, tick.price);

    let minute = this.minutes.get(minuteMs);
    if (!minute) {
      // A minute first seen after its cutoff (the only ticks of it are late) is born closed.
      minute = { bars: new Map(), closed: minuteMs + MINUTE_MS <= this.cutoffMs, revised: new Set() };
      this.minutes.set(minuteMs, minute);
    }
    const bar = minute.bars.get(tick.token);
    if (!bar) {
      minute.bars.set(tick.token, {
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
      if (minute.closed) this.retained++;
      else this.open++;
    } else {
      fold(bar, tick, delta, underlyingClose);
    }
    if (minute.closed && !minute.revised.has(tick.token)) {
      minute.revised.add(tick.token);
      this.revisedCount++;
    }
    return true;
  }

  /**
   * Returns the full bars of every minute that ended at or before `cutoffMs` and keeps them for late
   * ticks; drops retained minutes past the retention (handing out any revision not yet taken).
   */
  closeDue(cutoffMs: number): Candle[] {
    if (cutoffMs > this.cutoffMs) this.cutoffMs = cutoffMs;
    const closed: Candle[] = [];
    for (const [minuteMs, minute] of this.minutes) {
      const endMs = minuteMs + MINUTE_MS;
      if (!minute.closed) {
        if (endMs > cutoffMs) continue;
        minute.closed = true;
        this.open -= minute.bars.size;
        this.retained += minute.bars.size;
        for (const bar of minute.bars.values()) closed.push(toCandle(bar));
      }
      if (endMs + this.retentionMs <= this.cutoffMs) {
        this.takeRevisedOf(minute, closed);
        this.minutes.delete(minuteMs);
        this.retained -= minute.bars.size;
      }
    }
    return closed;
  }

  /** The full state of every retained bar a late tick changed since the last call. */
  takeRevised(): Candle[] {
    const revised: Candle[] = [];
    if (this.revisedCount === 0) return revised;
    for (const minute of this.minutes.values()) this.takeRevisedOf(minute, revised);
    return revised;
  }

  /** Every open bar and every revised retained bar (shutdown: the session's last minute is not left behind). */
  closeAll(): Candle[] {
    const bars = this.takeRevised();
    for (const minute of this.minutes.values()) {
      if (minute.closed) continue;
      minute.closed = true;
      this.open -= minute.bars.size;
      this.retained += minute.bars.size;
      for (const bar of minute.bars.values()) bars.push(toCandle(bar));
    }
    return bars;
  }

  /**
   * Forgets the instruments whose latest tick is before `beforeMs` (their minutes are long closed);
   * returns their tokens. A forgotten instrument's next tick is a new volume base, as on a new day.
   */
  evictIdle(beforeMs: number): number[] {
    const evicted: number[] = [];
    for (const [token, state] of this.instruments)
      if (state.lastTimeMs < beforeMs) {
        this.instruments.delete(token);
        evicted.push(token);
      }
    return evicted;
  }

  /** Instruments whose latest tick is at or after `sinceMs`. */
  tokensSeenSince(sinceMs: number): number[] {
    const tokens: number[] = [];
    for (const [token, state] of this.instruments) if (state.lastTimeMs >= sinceMs) tokens.push(token);
    return tokens;
  }

  private takeRevisedOf(minute: MinuteBars, into: Candle[]): void {
    if (minute.revised.size === 0) return;
    for (const token of minute.revised) into.push(toCandle(minute.bars.get(token)!));
    this.revisedCount -= minute.revised.size;
    minute.revised.clear();
  }

  /**
   * The increase of the cumulative day volume over this instrument's base, the highest total seen
   * this IST day. The base never goes down within a day: a 0 (the ticker's "unknown") or a total below
   * the base (a glitch) adds nothing, so the next real total is counted from the base, not from the
   * glitch. The first total seen (of the process, of a new IST day) is the base and adds nothing; so is
   * the first total after more than a minute without one (no tick, or only zeros and glitches): what
   * traded in such a gap cannot be placed in a minute, and history has it. A tick older than the latest
   * one folded adds nothing: the later tick already counted its volume.
   */
  private volumeDelta(tick: FoTick): number {
    const total = tick.dayVolume !== null && tick.dayVolume > 0 ? tick.dayVolume : null;
    const day = istDayNumber(tick.timeMs);
    const state = this.instruments.get(tick.token);
    if (!state) {
      this.instruments.set(tick.token, {
        lastTimeMs: tick.timeMs,
        lastDay: day,
        base: total,
        baseAtMs: tick.timeMs,
      });
      return 0;
    }
    if (tick.timeMs < state.lastTimeMs) return 0;
    state.lastTimeMs = tick.timeMs;
    if (state.lastDay !== day) {
      state.lastDay = day;
      state.base = total;
      state.baseAtMs = tick.timeMs;
      return 0;
    }
    const base = state.base;
    if (total === null || (base !== null && total < base)) return 0;
    const delta = base === null || tick.timeMs - state.baseAtMs > MINUTE_MS ? 0 : total - base;
    state.base = total;
    state.baseAtMs = tick.timeMs;
    return delta;
  }
}

/** Folds a further tick into a bar: high = max, low = min, open/close by tick time, levels = latest known. */
function fold(bar: OpenBar, tick: FoTick, delta: number, underlyingClose: number | null): void {
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
