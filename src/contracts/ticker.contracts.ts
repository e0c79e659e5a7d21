// Wire formats of the ticker service (section 1-3 of CONTRACTS.md). Shared by the service and the
// bundled simulator; nothing else is shared between them.

export type SubscriptionEventType = 'subscription_created' | 'subscription_removed' | 'subscription_deleted';
export const SUBSCRIPTION_EVENT_TYPES: readonly SubscriptionEventType[] = [
  'subscription_created',
  'subscription_removed',
  'subscription_deleted',
];

/** Event as the ticker service actually publishes it on `<prefix>:events`. */
export interface TickerSubscriptionEvent {
  event_type: SubscriptionEventType;
  instrument_token: number;
  metadata?: {
    tradingsymbol?: string;
    segment?: string;
    requested_mode?: string;
    account_id?: string | null;
  };
  timestamp?: number;
}

/** Event as the design note writes it: tradingsymbol at the top level. */
export interface DesignNoteSubscriptionEvent {
  event_type: SubscriptionEventType;
  instrument_token: number;
  tradingsymbol?: string;
  timestamp?: number;
  metadata?: { account_id?: string | null; requested_mode?: string; segment?: string };
}

export type OptionType = 'CE' | 'PE' | 'FUT';

/** One message on `<prefix>:options` (options and futures). */
export interface OptionTick {
  symbol: string;
  token: number;
  tradingsymbol: string;
  segment: string;
  exchange: string;
  strike: number;
  expiry: string;
  type: OptionType;
  lot_size: number;
  tick_size: number;
  price: number;
  volume: number;
  oi: number;
  iv: number;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  ts: number;
  is_mock: boolean;
  depth?: { buy: DepthLevel[]; sell: DepthLevel[] };
  total_buy_quantity?: number;
  total_sell_quantity?: number;
}

export interface DepthLevel {
  quantity: number;
  price: number;
  orders: number;
}

/** (a) quote poll: open/high/low are the DAY's values, close is the last price. */
export interface UnderlyingQuote {
  symbol: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  ts: number;
}

/** (b) index tick. */
export interface UnderlyingIndexTick {
  symbol: string;
  instrument_token: number;
  last_price: number;
  volume: number;
  timestamp: number;
  ohlc: { open: number; high: number; low: number; close: number };
}

/** (c) off-hours bar. */
export interface UnderlyingOffHoursBar {
  symbol: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  ts: number;
  is_mock: boolean;
}

export type UnderlyingMessage = UnderlyingQuote | UnderlyingIndexTick | UnderlyingOffHoursBar;

export type SubscriptionStatus = 'active' | 'inactive';

/** One element of the JSON array returned by `GET /subscriptions`. */
export interface TickerSubscription {
  instrument_token: number;
  tradingsymbol: string;
  segment: string;
  status: SubscriptionStatus;
  requested_mode: string;
  account_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface TickerHistoryCandle {
  /** ISO-8601 with `+05:30`; the candle's START. */
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  oi?: number;
  iv?: number | null;
  delta?: number | null;
  gamma?: number | null;
  theta?: number | null;
  vega?: number | null;
  underlying?: number | null;
}

export interface TickerHistoryResponse {
  instrument_token: number;
  tradingsymbol: string;
  segment: string;
  interval: string;
  from_ts: number;
  to_ts: number;
  candles: TickerHistoryCandle[];
}

/** Kite Connect historical API: `[date(+0530), open, high, low, close, volume, oi?]`. */
export type KiteCandle = [string, number, number, number, number, number, number?];

export interface KiteHistoricalResponse {
  status: 'success' | 'error';
  message?: string;
  error_type?: string;
  data?: { candles: KiteCandle[] };
}

export const DEFAULT_CHANNEL_PREFIX = 'ticker:nifty';

export function channelsFor(prefix: string): { events: string; options: string; underlying: string } {
  return { events: `${prefix}:events`, options: `${prefix}:options`, underlying: `${prefix}:underlying` };
}

/**
 * Kite's instrument list (`GET /instruments`, `GET /instruments/{exchange}`): a CSV with this header
 * line, one instrument a line, in this column order, as its official clients read it. `expiry` is
 * `YYYY-MM-DD` or empty, `name` may be quoted or empty, `tick_size` is 0 for indices.
 */
export const KITE_INSTRUMENT_COLUMNS = [
  'instrument_token',
  'exchange_token',
  'tradingsymbol',
  'name',
  'last_price',
  'expiry',
  'strike',
  'tick_size',
  'lot_size',
  'instrument_type',
  'segment',
  'exchange',
] as const;
