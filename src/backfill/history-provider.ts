import { bodyTooLarge, withBodyCap } from '../common/read-body';
import { Candle } from '../market-data/market-data.types';
import type { HistoryAnswer, HistoryProviderName } from './history-window';

export type { HistoryProviderName } from './history-window';

/** One upstream source of minute history. */
export interface HistoryProvider {
  readonly name: HistoryProviderName;
  /**
   * The upstream's answer for `[from, to)`, classified against it: the candles inside the window,
   * whether coverage may be the whole window, and any candles outside it (the wrong-window signal).
   * Throws `HistoryError` for every failure.
   */
  fetch(instrumentToken: number, from: Date, to: Date, signal?: AbortSignal): Promise<HistoryAnswer>;
}

export const HISTORY_PROVIDER = Symbol('HISTORY_PROVIDER');

/**
 * - transient: 429, 502, other 5xx, timeouts, refused connections: retried with backoff.
 * - unsupported: the upstream does not know the instrument (404): parked with a TTL, never blacklisted.
 * - auth: the access token was rejected (Kite 403): retrying cannot help until it is replaced.
 * - invalid: the request itself was refused (400) or the answer cannot be read: not retried.
 */
export type HistoryErrorKind = 'transient' | 'unsupported' | 'auth' | 'invalid';

export class HistoryError extends Error {
  constructor(
    readonly kind: HistoryErrorKind,
    message: string,
    readonly status?: number,
    /** From the upstream's Retry-After header, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HistoryError';
  }
}

export function classifyStatus(status: number): HistoryErrorKind {
  if (status === 404) return 'unsupported';
  if (status === 403) return 'auth';
  if (status === 429 || status === 408 || status >= 500) return 'transient';
  return 'invalid';
}

/** The body cap when a caller gives none: 60 days of minute candles with greeks are about 5 MB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * GET with a deadline (which covers reading the body too); network failures and timeouts become
 * transient `HistoryError`s. The body, however it is read, fails once it passes `maxBodyBytes`
 * (UPSTREAM_MAX_BODY_BYTES), so an upstream can never exhaust our memory.
 */
export async function fetchWithDeadline(
  url: string,
  init: { headers?: Record<string, string>; timeoutMs: number; signal?: AbortSignal; maxBodyBytes?: number },
): Promise<Response> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([timeout, init.signal]) : timeout;
  try {
    return withBodyCap(
      await fetch(url, { headers: init.headers, signal }),
      init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    );
  } catch (error) {
    if (init.signal?.aborted) throw new HistoryError('transient', 'request aborted: shutting down');
    if (timeout.aborted) throw new HistoryError('transient', `no answer within ${init.timeoutMs} ms`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HistoryError(
      'transient',
      `connection failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    );
  }
}

/**
 * Reads a JSON body; an unreadable one is a transient failure (a proxy's HTML error page, a cut).
 * One larger than the cap is `invalid`: the same request would get the same answer, so retrying it
 * cannot help (a narrower window can).
 */
export async function readJson<T>(response: Response): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch (error) {
    const tooLarge = bodyTooLarge(error);
    if (tooLarge)
      throw new HistoryError('invalid', `HTTP ${response.status}: ${tooLarge.message}`, response.status);
    throw new HistoryError(
      'transient',
      `unreadable answer (HTTP ${response.status}): ${(error as Error).message}`,
    );
  }
}

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

/**
 * Refuses a candle whose prices or volume are not finite numbers (a string, NaN, a missing field):
 * the upstream's answer is not stored in part. The provider turns the error into `invalid`.
 */
export function checkedCandle(candle: Candle): Candle {
  for (const field of PRICE_FIELDS) {
    if (typeof candle[field] !== 'number' || !Number.isFinite(candle[field]))
      throw new Error(`candle at ${candle.time.toISOString()}: ${field} is not a number`);
  }
  if (!Number.isFinite(candle.volume) || candle.volume < 0)
    throw new Error(`candle at ${candle.time.toISOString()}: volume is not a non-negative number`);
  return candle;
}
