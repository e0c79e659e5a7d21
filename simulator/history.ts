// `GET /history` (CONTRACTS.md section 3), independent of HTTP: query parsing, the window quirk and
// the candles of a window.

import { DAY_MS, MINUTE_MS, floorToMinute, parseUpstreamTime } from '../src/contracts/market-time';
import type { TickerHistoryCandle } from '../src/contracts/ticker.contracts';
import type { SimInstrument } from './instruments';
import type { MarketModel } from './market-model';
import { historyCandle } from './payloads';

/** Kite serves at most 60 days of minute candles per request. */
export const MAX_WINDOW_DAYS = 60;
/** The real ticker's timezone bug moves the window this much earlier. */
export const WINDOW_QUIRK_MS = 330 * MINUTE_MS;

export interface HistoryQuery {
  token: number;
  /** Epoch seconds as asked (echoed back in the response). */
  fromTs: number;
  toTs: number;
  withOi: boolean;
  interval: string;
}

export type ParsedHistoryQuery = { ok: true; query: HistoryQuery } | { ok: false; message: string };

/** Epoch seconds, or ISO-8601 with an offset. */
function parseInstantSeconds(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (/^\d{1,12}(\.\d+)?$/.test(text)) return Math.floor(Number(text));
  try {
    return Math.floor(parseUpstreamTime(text).getTime() / 1000);
  } catch {
    return undefined;
  }
}

export function parseHistoryQuery(params: URLSearchParams): ParsedHistoryQuery {
  const tokenText = params.get('instrument_token') ?? '';
  const token = /^\d+$/.test(tokenText) ? Number(tokenText) : NaN;
  if (!Number.isSafeInteger(token) || token <= 0) {
    return { ok: false, message: 'instrument_token must be a positive integer' };
  }
  const fromTs = parseInstantSeconds(params.get('from_ts'));
  const toTs = parseInstantSeconds(params.get('to_ts'));
  if (fromTs === undefined)
    return { ok: false, message: 'from_ts must be epoch seconds or ISO-8601 with an offset' };
  if (toTs === undefined)
    return { ok: false, message: 'to_ts must be epoch seconds or ISO-8601 with an offset' };
  if (toTs < fromTs) return { ok: false, message: 'bad window: to_ts is before from_ts' };
  if ((toTs - fromTs) * 1000 > MAX_WINDOW_DAYS * DAY_MS) {
    return { ok: false, message: `bad window: at most ${MAX_WINDOW_DAYS} days of minute data per request` };
  }
  const interval = params.get('interval') ?? 'minute';
  if (interval !== 'minute')
    return { ok: false, message: `interval "${interval}" is not supported (only "minute")` };
  const oi = params.get('oi');
  return { ok: true, query: { token, fromTs, toTs, withOi: oi === 'true' || oi === '1', interval } };
}

/**
 * Candles starting in [fromMs, toMs] (both inclusive, like Kite), session minutes only, none after
 * `nowMs`, and a partial candle for the minute in progress.
 */
export function historyCandles(
  model: MarketModel,
  instrument: SimInstrument,
  fromMs: number,
  toMs: number,
  nowMs: number,
  withOi: boolean,
): TickerHistoryCandle[] {
  const last = Math.min(toMs, floorToMinute(nowMs).getTime());
  const candles: TickerHistoryCandle[] = [];
  for (const minute of model.calendar.sessionMinutes(new Date(fromMs), new Date(last + 1))) {
    const candle = model.candle(instrument, minute.getTime(), nowMs);
    if (candle) candles.push(historyCandle(instrument, candle, withOi));
  }
  return candles;
}
