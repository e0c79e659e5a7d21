import { Injectable } from '@nestjs/common';
import { parseRetryAfter } from '../common/retry-after';
import { AppConfig } from '../config/app-config';
import { MINUTE_MS, parseUpstreamTime } from '../contracts/market-time';
import { TickerHistoryCandle, TickerHistoryResponse } from '../contracts/ticker.contracts';
import { Candle } from '../market-data/market-data.types';
import {
  checkedCandle,
  classifyStatus,
  clipToWindow,
  fetchWithDeadline,
  HistoryError,
  HistoryProvider,
  readJson,
} from './history-provider';

const nullable = (value: number | null | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

export function tickerCandle(instrumentToken: number, raw: TickerHistoryCandle): Candle {
  return {
    instrumentToken,
    time: parseUpstreamTime(raw.date),
    open: raw.open,
    high: raw.high,
    low: raw.low,
    close: raw.close,
    volume: raw.volume ?? 0,
    oi: nullable(raw.oi),
    iv: nullable(raw.iv),
    delta: nullable(raw.delta),
    gamma: nullable(raw.gamma),
    theta: nullable(raw.theta),
    vega: nullable(raw.vega),
    underlyingClose: nullable(raw.underlying),
  };
}

/** The ticker service's `GET /history` (CONTRACTS.md section 3). */
@Injectable()
export class TickerHistoryProvider implements HistoryProvider {
  readonly name = 'ticker' as const;

  constructor(private readonly config: AppConfig) {}

  async fetch(instrumentToken: number, from: Date, to: Date, signal?: AbortSignal): Promise<Candle[]> {
    // The ticker answers for a window 5h30 earlier than asked where its timezone bug is live; the
    // configured shift moves the request so the answer lands on the window wanted. Clipping below
    // keeps whatever comes back inside the window either way.
    const shiftMs = this.config.TICKER_WINDOW_SHIFT_MINUTES * MINUTE_MS;
    const url = new URL('/history', this.config.TICKER_SERVICE_URL);
    url.searchParams.set('instrument_token', String(instrumentToken));
    url.searchParams.set('from_ts', String(Math.floor((from.getTime() + shiftMs) / 1000)));
    url.searchParams.set('to_ts', String(Math.floor((to.getTime() + shiftMs) / 1000)));
    url.searchParams.set('interval', 'minute');
    url.searchParams.set('oi', 'true');
    const response = await fetchWithDeadline(url.toString(), {
      timeoutMs: this.config.HISTORY_TIMEOUT_MS,
      signal,
      maxBodyBytes: this.config.UPSTREAM_MAX_BODY_BYTES,
    });
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      throw new HistoryError(
        classifyStatus(response.status),
        `ticker /history answered ${response.status}: ${body.slice(0, 200)}`,
        response.status,
        parseRetryAfter(response.headers.get('retry-after')),
      );
    }
    const body = await readJson<TickerHistoryResponse>(response);
    if (!body || !Array.isArray(body.candles))
      throw new HistoryError('invalid', 'ticker /history: no candles array');
    let candles: Candle[];
    try {
      candles = body.candles.map((raw) => checkedCandle(tickerCandle(instrumentToken, raw)));
    } catch (error) {
      throw new HistoryError('invalid', `ticker /history: ${(error as Error).message}`);
    }
    return clipToWindow(candles, from, to);
  }
}
