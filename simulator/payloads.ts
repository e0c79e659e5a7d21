// Wire shapes (CONTRACTS.md sections 1-3) built from model states.

import type {
  DepthLevel,
  OptionTick,
  TickerHistoryCandle,
  UnderlyingIndexTick,
  UnderlyingOffHoursBar,
  UnderlyingQuote,
} from '../src/contracts/ticker.contracts';
import { toIstIso } from '../src/contracts/market-time';
import type { SimInstrument } from './instruments';
import type { DayRange, ModelCandle, TickState } from './market-model';
import { roundToTick } from './market-model';
import { hash, uniformInt } from './random';
import { UNDERLYINGS, UnderlyingName } from './underlyings';

// Depth is a deterministic decoration independent of the seed: only prices and volumes matter.
const DEPTH_STREAM = 101;

function depthSide(instrument: SimInstrument, state: TickState, side: number): DepthLevel[] {
  const token = instrument.instrument_token;
  // A side is sometimes empty, as in the contract's example.
  const levels = hash(0, DEPTH_STREAM, token, state.atMs, side) % 6;
  return Array.from({ length: levels }, (_, i) => ({
    quantity: instrument.lot_size * uniformInt(0, DEPTH_STREAM + 1, 1, 40, token, state.atMs, side * 8 + i),
    price: roundToTick(state.price + (side === 0 ? -(i + 1) : i + 1) * instrument.tick_size),
    orders: uniformInt(0, DEPTH_STREAM + 2, 1, 9, token, state.atMs, side * 8 + i),
  }));
}

/** One message on `<prefix>:options`. */
export function optionTick(instrument: SimInstrument, state: TickState, volumeZero: boolean): OptionTick {
  if (instrument.kind === 'INDEX')
    throw new Error(`${instrument.tradingsymbol} is an index: it ticks on the underlying channel`);
  const buy = depthSide(instrument, state, 0);
  const sell = depthSide(instrument, state, 1);
  return {
    symbol: instrument.name,
    token: instrument.instrument_token,
    tradingsymbol: instrument.tradingsymbol,
    segment: instrument.segment,
    exchange: instrument.exchange,
    strike: instrument.strike,
    expiry: instrument.expiry ?? '',
    type: instrument.kind,
    lot_size: instrument.lot_size,
    tick_size: instrument.tick_size,
    price: state.price,
    // The current ticker reads the wrong field and always sends 0; the knob reproduces it.
    volume: volumeZero ? 0 : state.volume,
    oi: state.oi,
    iv: state.greeks.iv,
    delta: state.greeks.delta,
    gamma: state.greeks.gamma,
    theta: state.greeks.theta,
    vega: state.greeks.vega,
    ts: Math.floor(state.atMs / 1000),
    is_mock: false,
    depth: { buy, sell },
    total_buy_quantity: buy.reduce((sum, level) => sum + level.quantity, 0) * 12,
    total_sell_quantity: sell.reduce((sum, level) => sum + level.quantity, 0) * 12,
  };
}

/** (b) index tick; `ohlc` is the day's open/high/low and the previous session's close, as Kite sends it. */
export function indexTick(
  name: UnderlyingName,
  state: TickState,
  day: DayRange,
  previousClose: number,
): UnderlyingIndexTick {
  return {
    symbol: name,
    instrument_token: UNDERLYINGS[name].indexToken,
    last_price: state.price,
    volume: 0,
    timestamp: Math.floor(state.atMs / 1000),
    ohlc: { open: day.open, high: day.high, low: day.low, close: previousClose },
  };
}

/** (a) quote poll during the session: open/high/low are the day's, close is the last price. */
export function quotePoll(name: UnderlyingName, day: DayRange, atMs: number): UnderlyingQuote {
  return {
    symbol: name,
    open: day.open,
    high: day.high,
    low: day.low,
    close: day.close,
    volume: 0,
    ts: Math.floor(atMs / 1000),
  };
}

/** (c) off-hours bar: the last session's day bar, stamped with the time it is sent. */
export function offHoursBar(name: UnderlyingName, day: DayRange, atMs: number): UnderlyingOffHoursBar {
  return { ...quotePoll(name, day, atMs), is_mock: false };
}

/** A `GET /history` candle: oi only when asked for, greeks and underlying for options only. */
export function historyCandle(
  instrument: SimInstrument,
  candle: ModelCandle,
  withOi: boolean,
): TickerHistoryCandle {
  const out: TickerHistoryCandle = {
    date: toIstIso(new Date(candle.minuteMs)),
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    volume: candle.volume,
  };
  if (withOi) out.oi = candle.oi;
  if (instrument.kind === 'CE' || instrument.kind === 'PE') {
    out.iv = candle.greeks.iv;
    out.delta = candle.greeks.delta;
    out.gamma = candle.greeks.gamma;
    out.theta = candle.greeks.theta;
    out.vega = candle.greeks.vega;
    out.underlying = candle.underlying;
  }
  return out;
}
