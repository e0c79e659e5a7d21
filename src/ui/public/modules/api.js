// The service's HTTP API as the page uses it: JSON in, an error naming the route and the service's
// message out. The shapes below are the parts of the OpenAPI schemas (/docs) the page reads.

/**
 * @typedef {'1m' | '3m' | '5m' | '15m' | '30m' | '1h' | '1d'} Interval
 * @typedef {{ date: string, open: string, close: string }} Session
 * @typedef {{ time: string, open: number, high: number, low: number, close: number, volume: number,
 *   oi: number | null }} Candle
 * @typedef {{ candles: Candle[], sessions?: Session[] }} CandlesAnswer
 * @typedef {{ from: string, to: string }} TimeRange
 * @typedef {{ active: boolean, expires_at: string }} Unsupported
 * @typedef {{ lookback_from: string, lookback_to: string, covered: TimeRange[],
 *   gaps: (TimeRange & { minutes: number })[], unsupported: Unsupported | null }} Coverage
 * @typedef {{ name: string, ticker: string, exchange: string, pricescale: number, minmov: number }} SymbolInfo
 * @typedef {{ symbol: string, ticker: string, exchange: string, description: string }} SearchResult
 * @typedef {{ state: string, trigger: string, requested_at: string, finished_at: string | null }} BackfillState
 * @typedef {{ instrument_token: number, tradingsymbol: string | null, status: string,
 *   last_candle_time: string | null, backfill: BackfillState | null }} Subscription
 * @typedef {{ total: number, subscriptions: Subscription[] }} SubscriptionList
 * @typedef {{ jobs: { instrument_token: number, time_to_data_ms: number | null }[] }} JobList
 * @typedef {{ flags: { backfill_enabled: boolean }, settings: { api_key_required: boolean } }} ConfigFlags
 * @typedef {{ waiting: number, prioritized: number, paused: number, delayed: number, active: number,
 *   failed: number }} QueueDepth
 * @typedef {{ depth: QueueDepth, jobs: { succeeded: number, failed: number, skipped: number },
 *   candles_written: number, time_to_data: { count: number, sum_seconds: number, mean_seconds: number | null },
 *   upstream_circuit_open: boolean, subscriptions_active: number, stream_bars_written: number }} QueueSnapshot
 * @typedef {{ job_ids: string[], skipped?: string, message?: string }} BackfillAccepted
 */

/** A request the service refused or could not answer, with its HTTP status. */
export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/**
 * The body as JSON, or undefined when it is empty or not JSON (a proxy's error page).
 * @param {Response} response
 * @returns {Promise<any>}
 */
async function bodyOf(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GETs a JSON document; any answer but a 2xx throws an HttpError with the service's message.
 * @param {string} url
 * @returns {Promise<any>}
 */
export async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await bodyOf(response);
  if (!response.ok) {
    const message = body?.message ?? body?.errmsg ?? `${response.status} ${response.statusText}`;
    throw new HttpError(response.status, `${url.split('?')[0]}: ${message}`);
  }
  return body;
}

/**
 * POSTs a JSON body and answers the status with the body (an unreadable one as {}), whatever the
 * status: the caller decides what a refusal means.
 * @param {string} url
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, body: any }>}
 */
export async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await bodyOf(response)) ?? {} };
}
