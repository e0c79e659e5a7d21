import { Inject, Injectable } from '@nestjs/common';
import { parseRetryAfter } from '../common/retry-after';
import { upstreamConfig, UpstreamConfig } from '../common/upstream.config';
import { MINUTE_MS, parseUpstreamTime, toIstWallClock } from '../contracts/market-time';
import { KiteCandle, KiteHistoricalResponse } from '../contracts/ticker.contracts';
import { Candle } from '../market-data/market-data.types';
import {
  checkedCandle,
  classifyStatus,
  fetchWithDeadline,
  HistoryError,
  HistoryProvider,
  readJson,
} from './history-provider';
import { HistoryAnswer, historyAnswer } from './history-window';

export function kiteCandle(instrumentToken: number, raw: KiteCandle): Candle {
  const [date, open, high, low, close, volume, oi] = raw;
  return {
    instrumentToken,
    time: parseUpstreamTime(date),
    open,
    high,
    low,
    close,
    volume: volume ?? 0,
    oi: typeof oi === 'number' ? oi : null,
    iv: null,
    delta: null,
    gamma: null,
    theta: null,
    vega: null,
    underlyingClose: null,
  };
}

/**
 * Kite's error answer `{"status":"error","message":...,"error_type":"InputException"}` as
 * ` InputException: message`; any other body as its first 200 characters.
 */
function kiteError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error_type?: unknown };
    if (typeof parsed.message === 'string')
      return `${typeof parsed.error_type === 'string' ? ` ${parsed.error_type.slice(0, 40)}` : ''}: ${parsed.message.slice(0, 200)}`;
  } catch {
    // Not Kite's JSON (a proxy's page): shown as it is.
  }
  return `: ${body.slice(0, 200)}`;
}

/** Kite Connect's historical API, for deployments without the ticker's `/history`. */
@Injectable()
export class KiteHistoryProvider implements HistoryProvider {
  readonly name = 'kite' as const;

  constructor(@Inject(upstreamConfig.KEY) private readonly config: UpstreamConfig) {}

  async fetch(instrumentToken: number, from: Date, to: Date, signal?: AbortSignal): Promise<HistoryAnswer> {
    if (!this.config.KITE_API_KEY || !this.config.KITE_ACCESS_TOKEN) {
      throw new HistoryError('auth', 'HISTORY_PROVIDER=kite needs KITE_API_KEY and KITE_ACCESS_TOKEN');
    }
    // `from`/`to` are IST wall clock and both inclusive; the last minute asked for starts at to - 1 min.
    const url = new URL(`/instruments/historical/${instrumentToken}/minute`, this.config.KITE_BASE_URL);
    url.searchParams.set('from', toIstWallClock(from));
    url.searchParams.set('to', toIstWallClock(new Date(to.getTime() - MINUTE_MS)));
    url.searchParams.set('oi', '1');
    const response = await fetchWithDeadline(url.toString(), {
      timeoutMs: this.config.HISTORY_TIMEOUT_MS,
      signal,
      maxBodyBytes: this.config.UPSTREAM_MAX_BODY_BYTES,
      headers: {
        'X-Kite-Version': '3',
        Authorization: `token ${this.config.KITE_API_KEY}:${this.config.KITE_ACCESS_TOKEN}`,
      },
    });
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      const kind = classifyStatus(response.status);
      const message =
        kind === 'auth'
          ? `Kite rejected the access token (403${body.includes('TokenException') ? ' TokenException' : ''}): replace KITE_ACCESS_TOKEN`
          : `Kite historical answered ${response.status}${kiteError(body)}`;
      throw new HistoryError(kind, message, response.status, retryAfter);
    }
    const body = await readJson<KiteHistoricalResponse>(response);
    if (body.status !== 'success') {
      // Kite sometimes reports its rate limit as 200 with an error body.
      const tooMany = /too many requests/i.test(body.message ?? '');
      throw new HistoryError(
        tooMany ? 'transient' : 'invalid',
        `Kite historical: ${body.message ?? 'error'}`,
        response.status,
        retryAfter,
      );
    }
    let candles: Candle[];
    try {
      candles = (body.data?.candles ?? []).map((raw) => checkedCandle(kiteCandle(instrumentToken, raw)));
    } catch (error) {
      throw new HistoryError('invalid', `Kite historical: ${(error as Error).message}`);
    }
    // Kite has no window quirk: its answers are taken as verified (shift 0), but a candle outside the
    // window asked for is still a wrong-window answer.
    return historyAnswer({ from, to }, candles, 0, true).answer;
  }
}
