/**
 * Index tokens for underlying messages that carry only a symbol (the quote poll and the off-hours bar).
 * Kite's instrument tokens for the NSE indices; a message with `instrument_token` uses its own.
 */
export const INDEX_TOKENS: Readonly<Record<string, number>> = {
  NIFTY: 256265,
  BANKNIFTY: 260105,
  FINNIFTY: 257801,
};

/** Largest tick accepted, in bytes; a full-depth option tick is about 1 KiB. */
export const MAX_TICK_BYTES = 65_536;

/** How often the flusher looks for minutes whose grace has passed. */
export const FLUSH_INTERVAL_MS = 200;

/** Bars per INSERT: bound the statement's size (the column-array form binds 14 parameters whatever the count). */
export const WRITE_BATCH_BARS = 5_000;

/** Backoff between failed writes while the database is slow or down. */
export const RETRY_MIN_MS = 250;
export const RETRY_MAX_MS = 5_000;

/**
 * Ceiling of the closed-bar backlog. Coalescing bounds it by instruments x minutes of outage; past
 * this (about 45 minutes of a 4,500-instrument universe) the oldest minutes are dropped and left to
 * the scheduled backfill, so a long database outage can never exhaust memory.
 */
export const MAX_PENDING_BARS = 200_000;

/**
 * How long a closed minute stays in memory after its cutoff so a late tick can still revise it (the
 * revised full bar is written again). A tick for a minute older than this is refused as 'too_late':
 * the history backfill owns that minute. Memory stays instruments x (open + retained minutes).
 */
export const FO_LATE_RETENTION_MS = 3 * 60_000;

/** An instrument that ticked this long before a disconnect is "ticking": the gap is requested for it. */
export const TICKING_WINDOW_MS = 5 * 60_000;

/** Connection name of the tick subscriber, visible in `CLIENT LIST`. */
export const FO_STREAM_CONNECTION_NAME = 'mds:fo-stream';

export type FoRejectReason =
  | 'invalid_json'
  | 'oversized'
  | 'not_object'
  | 'missing_token'
  | 'invalid_price'
  | 'invalid_time'
  | 'invalid_field'
  | 'unknown_symbol'
  | 'off_session'
  | 'too_late';
