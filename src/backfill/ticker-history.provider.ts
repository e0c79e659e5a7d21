import { Inject, Injectable } from '@nestjs/common';
import { parseRetryAfter } from '../common/retry-after';
import { isPrintableText } from '../common/strict-values';
import { upstreamConfig, UpstreamConfig } from '../common/upstream.config';
import { MINUTE_MS, parseUpstreamTime } from '../contracts/market-time';
import { TickerHistoryCandle, TickerHistoryResponse } from '../contracts/ticker.contracts';
import { Candle } from '../market-data/market-data.types';
import { TimeRange } from './backfill-gaps';
import {
  checkedCandle,
  classifyStatus,
  fetchWithDeadline,
  HistoryError,
  HistoryProvider,
  readJson,
} from './history-provider';
import { HistoryAnswer, historyAnswer } from './history-window';
import { TickerWindowService } from './ticker-window.service';

const MAX_NAME = 64;

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

type TickerHistoryConfig = Pick<
  UpstreamConfig,
  'TICKER_SERVICE_URL' | 'HISTORY_TIMEOUT_MS' | 'UPSTREAM_MAX_BODY_BYTES'
>;

/**
 * The ticker's `GET /history` for `window` moved by `shiftMinutes`: every candle of the answer, not
 * clipped (the caller classifies it against the window first). Throws `HistoryError`.
 */
export async function requestTickerHistory(
  config: TickerHistoryConfig,
  instrumentToken: number,
  window: TimeRange,
  shiftMinutes: number,
  signal?: AbortSignal,
): Promise<Candle[]> {
  return (await requestTickerHistoryAnswer(config, instrumentToken, window, shiftMinutes, signal)).candles;
}

/** The same, with the tradingsymbol and segment the answer names the instrument by (when it does). */
async function requestTickerHistoryAnswer(
  config: TickerHistoryConfig,
  instrumentToken: number,
  window: TimeRange,
  shiftMinutes: number,
  signal?: AbortSignal,
): Promise<{ candles: Candle[]; instrument?: HistoryAnswer['instrument'] }> {
  const shiftMs = shiftMinutes * MINUTE_MS;
  const url = new URL('/history', config.TICKER_SERVICE_URL);
  url.searchParams.set('instrument_token', String(instrumentToken));
  url.searchParams.set('from_ts', String(Math.floor((window.from.getTime() + shiftMs) / 1000)));
  url.searchParams.set('to_ts', String(Math.floor((window.to.getTime() + shiftMs) / 1000)));
  url.searchParams.set('interval', 'minute');
  url.searchParams.set('oi', 'true');
  const response = await fetchWithDeadline(url.toString(), {
    timeoutMs: config.HISTORY_TIMEOUT_MS,
    signal,
    maxBodyBytes: config.UPSTREAM_MAX_BODY_BYTES,
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
  // The name is a by-product: one that is not plain text is left out, the candles kept.
  const instrument = isPrintableText(body.tradingsymbol, MAX_NAME)
    ? {
        tradingsymbol: body.tradingsymbol,
        segment: isPrintableText(body.segment, MAX_NAME) ? body.segment : null,
      }
    : undefined;
  return { candles, instrument };
}

/** The ticker service's `GET /history` (CONTRACTS.md section 3). */
@Injectable()
export class TickerHistoryProvider implements HistoryProvider {
  readonly name = 'ticker' as const;

  constructor(
    @Inject(upstreamConfig.KEY) private readonly config: UpstreamConfig,
    private readonly window: TickerWindowService,
  ) {}

  async fetch(instrumentToken: number, from: Date, to: Date, signal?: AbortSignal): Promise<HistoryAnswer> {
    // The ticker answers for a window 5h30 earlier than asked where its timezone bug is live; the
    // shift (learned, or the override) moves the request so the answer lands on the window wanted.
    // Jobs taken at boot wait (bounded) for the first probe to settle it.
    await this.window.ready(this.config.HISTORY_TIMEOUT_MS);
    const { shiftMinutes, verified } = this.window.snapshot;
    const asked = { from, to };
    const { candles, instrument } = await requestTickerHistoryAnswer(
      this.config,
      instrumentToken,
      asked,
      shiftMinutes,
      signal,
    );
    const { answer, proves } = historyAnswer(asked, candles, shiftMinutes, verified);
    answer.instrument = instrument;
    if (proves) this.window.confirmedBy(shiftMinutes);
    if (answer.mismatch)
      answer.mismatch.retryable = await this.window.afterMismatch(
        shiftMinutes,
        answer.mismatch.offsetMinutes,
      );
    return answer;
  }
}
