import { InstrumentInfo } from '../market-data/market-data.types';
import { parseUpstreamTime } from '../contracts/market-time';
import {
  INT4_MAX,
  isCalendarDate,
  isFiniteIn,
  isIntegerIn,
  isPrintableText,
  MAX_COUNT,
  MAX_INSTRUMENT_TOKEN,
} from '../common/strict-values';
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
  /**
   * Instrument fields the tick carried but no column could hold (left out of `instrument()`, which
   * keeps the rest); computed with it, only when the instrument is first seen.
   */
  droppedFields?: () => readonly string[];
}

export type FoParseResult =
  { ok: true; tick: FoTick } | { ok: false; reason: FoRejectReason; detail: string };

type Json = Record<string, unknown>;

const NO_GREEKS: GreekValues = { iv: null, delta: null, gamma: null, theta: null, vega: null };
const OPTION_TYPES = new Set(['CE', 'PE', 'FUT']);
// Epoch values below this are seconds (the contract); above it, milliseconds (year 5138 in seconds).
const MILLISECONDS_FROM = 1e11;

function reject(reason: FoRejectReason, detail: string): FoParseResult {
  return { ok: false, reason, detail };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** A token: a positive integer that `bigint` and a JS number both hold exactly. */
function positiveInteger(value: unknown): number | undefined {
  return isIntegerIn(value, 1, MAX_INSTRUMENT_TOKEN) ? value : undefined;
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

/**
 * A count (cumulative volume, OI), null when absent; undefined when present but not a non-negative
 * number that `bigint` and a JS number both hold exactly.
 */
function optionalLevel(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return null;
  return isFiniteIn(value, 0, MAX_COUNT) ? value : undefined;
}

/** Longest symbol, segment or exchange kept; Kite's longest tradingsymbols are about 30 characters. */
const MAX_TEXT = 64;

function optionalText(value: unknown): string | null {
  return isPrintableText(value, MAX_TEXT) ? value : null;
}

/**
 * The instrument fields of an option tick, each checked against its column: a value the column
 * cannot hold (an expiry that is not a real date, a lot size beyond int4, a NUL in a name) is left
 * out and named in `dropped`, so one bad field can never make the instrument upsert fail.
 */
function optionInstrument(token: number, m: Json): { info: InstrumentInfo; dropped: string[] } {
  const dropped: string[] = [];
  const field = <T>(name: string, ok: (value: unknown) => value is T): T | null => {
    const value = m[name];
    if (value === undefined || value === null) return null;
    if (ok(value)) return value;
    dropped.push(name);
    return null;
  };
  const text = (value: unknown): value is string => isPrintableText(value, MAX_TEXT);
  return {
    info: {
      instrumentToken: token,
      tradingsymbol: field('tradingsymbol', text),
      name: field('symbol', text),
      segment: field('segment', text),
      exchange: field('exchange', text),
      instrumentType: (m.type as string | undefined) ?? null,
      strike: field('strike', (v): v is number => isFiniteIn(v, 0, Number.MAX_VALUE)),
      expiry: field('expiry', isCalendarDate),
      lotSize: field('lot_size', (v): v is number => isIntegerIn(v, 1, INT4_MAX)),
      tickSize: field('tick_size', (v): v is number => isFiniteIn(v, Number.MIN_VALUE, Number.MAX_VALUE)),
    },
    dropped,
  };
}

/** Builds on first use only: most ticks are of instruments already known. */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
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
    return reject(
      'invalid_field',
      `token ${token}: volume or oi is not a non-negative number up to ${MAX_COUNT} (volume=${JSON.stringify(m.volume ?? null)}, oi=${JSON.stringify(m.oi ?? null)})`,
    );
  if (m.type !== undefined && !OPTION_TYPES.has(m.type as string))
    return reject('invalid_field', `token ${token}: type=${JSON.stringify(m.type)}`);
  const instrument = once(() => optionInstrument(token, m));
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
      instrument: () => instrument().info,
      droppedFields: () => instrument().dropped,
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
  // A token that is there but no token ("abc", -5) says the message is broken: it is refused, never
  // taken for the symbol's index, whose bar it would otherwise write.
  const given = m.instrument_token;
  if (given !== undefined && given !== null && positiveInteger(given) === undefined)
    return reject('missing_token', `instrument_token=${JSON.stringify(given)} (symbol ${symbol ?? 'none'})`);
  const token = positiveInteger(given) ?? (symbol ? INDEX_TOKENS[symbol] : undefined);
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
