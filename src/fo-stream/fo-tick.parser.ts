import { InstrumentInfo } from '../market-data/market-data.types';
import { parseUpstreamTime } from '../contracts/market-time';
import { FoRejectReason, INDEX_TOKENS, MAX_TICK_BYTES } from './fo-stream.constants';

export type FoChannelKind = 'options' | 'underlying';

export const GREEKS = ['iv', 'delta', 'gamma', 'theta', 'vega'] as const;
export type GreekName = (typeof GREEKS)[number];
export type GreekValues = Record<GreekName, number | null>;

/** One validated tick, reduced to what a bar needs. */
export interface FoTick {
  token: number;
  /** Epoch milliseconds (the ticker's processing time). */
  timeMs: number;
  price: number;
  /** Cumulative day volume; null when the message carries none. */
  dayVolume: number | null;
  oi: number | null;
  /** Null where the message has no value or the value is exactly 0 ("not computed"). */
  greeks: GreekValues;
  /** Underlying name (`symbol`), used to attach the underlying's level to option bars. */
  symbol: string | null;
  /** What the tick tells of its instrument; built only when the instrument is first seen. */
  instrument: () => InstrumentInfo;
}

export type FoParseResult =
  { ok: true; tick: FoTick } | { ok: false; reason: FoRejectReason; detail: string };

type Json = Record<string, unknown>;

const NO_GREEKS: GreekValues = { iv: null, delta: null, gamma: null, theta: null, vega: null };
const EXPIRY = /^\d{4}-\d{2}-\d{2}$/;
const OPTION_TYPES = new Set(['CE', 'PE', 'FUT']);
// Epoch values below this are seconds (the contract); above it, milliseconds (year 5138 in seconds).
const MILLISECONDS_FROM = 1e11;

function reject(reason: FoRejectReason, detail: string): FoParseResult {
  return { ok: false, reason, detail };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function timeOf(value: unknown): number | undefined {
  if (isFiniteNumber(value) && value > 0) return value < MILLISECONDS_FROM ? value * 1000 : value;
  if (typeof value === 'string') {
    try {
      return parseUpstreamTime(value).getTime();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A non-negative number, null when absent; undefined when present but not a usable number. */
function optionalLevel(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  return isFiniteNumber(value) && value >= 0 ? value : undefined;
}

function optionalText(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function greeksOf(message: Json): GreekValues {
  const greeks = { ...NO_GREEKS };
  for (const name of GREEKS) {
    const value = message[name];
    // Exactly 0.0 is the ticker's "not computed"; a non-number is treated the same way rather than
    // costing the tick its price.
    greeks[name] = isFiniteNumber(value) && value !== 0 ? value : null;
  }
  return greeks;
}

function decode(raw: string): Json | FoParseResult {
  if (raw.length > MAX_TICK_BYTES) return reject('oversized', `${raw.length} bytes`);
  let message: unknown;
  try {
    message = JSON.parse(raw);
  } catch (error) {
    return reject('invalid_json', (error as Error).message);
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message))
    return reject('not_object', 'payload is not a JSON object');
  return message as Json;
}

function isResult(value: Json | FoParseResult): value is FoParseResult {
  return typeof (value as { ok?: unknown }).ok === 'boolean' && 'reason' in value;
}

/** An option or future tick on `<prefix>:options` (section 2 of CONTRACTS.md). */
export function parseOptionTick(raw: string): FoParseResult {
  const decoded = decode(raw);
  if (isResult(decoded)) return decoded;
  const m = decoded;
  // The contract names it `token`; `instrument_token` is accepted for senders that use Kite's name.
  const token = positiveInteger(m.token ?? m.instrument_token);
  if (token === undefined) return reject('missing_token', `token=${JSON.stringify(m.token ?? null)}`);
  if (!isFiniteNumber(m.price) || m.price < 0)
    return reject('invalid_price', `token ${token}: price=${JSON.stringify(m.price ?? null)}`);
  const timeMs = timeOf(m.ts ?? m.timestamp);
  if (timeMs === undefined)
    return reject('invalid_time', `token ${token}: ts=${JSON.stringify(m.ts ?? null)}`);
  const dayVolume = optionalLevel(m.volume);
  const oi = optionalLevel(m.oi);
  if (dayVolume === undefined || oi === undefined)
    return reject('invalid_field', `token ${token}: volume or oi is not a non-negative number`);
  if (m.type !== undefined && !OPTION_TYPES.has(m.type as string))
    return reject('invalid_field', `token ${token}: type=${JSON.stringify(m.type)}`);
  const expiry = typeof m.expiry === 'string' && EXPIRY.test(m.expiry) ? m.expiry : null;
  return {
    ok: true,
    tick: {
      token,
      timeMs,
      price: m.price,
      dayVolume,
      oi,
      greeks: greeksOf(m),
      symbol: optionalText(m.symbol),
      instrument: () => ({
        instrumentToken: token,
        tradingsymbol: optionalText(m.tradingsymbol),
        name: optionalText(m.symbol),
        segment: optionalText(m.segment),
        exchange: optionalText(m.exchange),
        instrumentType: (m.type as string | undefined) ?? null,
        strike: isFiniteNumber(m.strike) ? m.strike : null,
        expiry,
        lotSize: positiveInteger(m.lot_size) ?? null,
        tickSize: isFiniteNumber(m.tick_size) && m.tick_size > 0 ? m.tick_size : null,
      }),
    },
  };
}

/**
 * An underlying message on `<prefix>:underlying`, in any of its three shapes: the quote poll and the
 * off-hours bar carry the DAY's open/high/low, so only the last price (`close ?? last_price ?? price`)
 * is read as a tick.
 */
export function parseUnderlyingTick(raw: string): FoParseResult {
  const decoded = decode(raw);
  if (isResult(decoded)) return decoded;
  const m = decoded;
  const symbol = optionalText(m.symbol)?.toUpperCase() ?? null;
  const token = positiveInteger(m.instrument_token) ?? (symbol ? INDEX_TOKENS[symbol] : undefined);
  if (token === undefined) {
    return symbol
      ? reject('unknown_symbol', `symbol ${symbol} has no known index token`)
      : reject('missing_token', 'neither instrument_token nor symbol');
  }
  const price = m.close ?? m.last_price ?? m.price;
  if (!isFiniteNumber(price) || price < 0)
    return reject('invalid_price', `token ${token}: price=${JSON.stringify(price ?? null)}`);
  const timeMs = timeOf(m.ts ?? m.timestamp);
  if (timeMs === undefined)
    return reject('invalid_time', `token ${token}: ts=${JSON.stringify(m.ts ?? m.timestamp ?? null)}`);
  return {
    ok: true,
    tick: {
      token,
      timeMs,
      price,
      // An index has no traded volume. The shapes disagree on what `volume` holds (0 in the index
      // tick, a day figure in the quote poll, a bar figure off hours), and mixing them on one
      // instrument would read as resets and jumps, so the underlying's bars carry volume 0.
      dayVolume: null,
      oi: null,
      greeks: { ...NO_GREEKS },
      symbol,
      instrument: () => ({ instrumentToken: token, name: symbol, segment: 'INDICES', exchange: 'NSE' }),
    },
  };
}

export function parseTick(kind: FoChannelKind, raw: string): FoParseResult {
  switch (kind) {
    case 'options':
      return parseOptionTick(raw);
    case 'underlying':
      return parseUnderlyingTick(raw);
  }
}
