import { IST_OFFSET_MS } from '../contracts/market-time';
import { CandleInterval } from '../market-data/dto/candles.dto';

/** Resolutions offered to UDF clients, as `/udf/config` lists them. */
export const UDF_RESOLUTIONS = ['1', '3', '5', '15', '30', '60', '1D'] as const;
/** What `/udf/history` accepts: the list, plus `D`, which some clients send for `1D`. */
export const UDF_ACCEPTED_RESOLUTIONS = [...UDF_RESOLUTIONS, 'D'] as const;
export type UdfResolution = (typeof UDF_ACCEPTED_RESOLUTIONS)[number];

/** Each resolution is a candles API interval: the bars come from the same aggregation. */
export const UDF_RESOLUTION_INTERVALS: Record<UdfResolution, CandleInterval> = {
  '1': '1m',
  '3': '3m',
  '5': '5m',
  '15': '15m',
  '30': '30m',
  '60': '1h',
  '1D': '1d',
  D: '1d',
};

/** Bars of one interval in a regular session (09:15-15:30, 375 minutes). */
export const BARS_PER_SESSION: Record<CandleInterval, number> = {
  '1m': 375,
  '3m': 125,
  '5m': 75,
  '10m': 38,
  '15m': 25,
  '30m': 13,
  '1h': 7,
  '1d': 1,
};

/**
 * TradingView's price format: the tick is `minmov / pricescale`. NSE derivatives tick in 0.05 (5/100);
 * Kite gives indices a tick of 0, which is shown with two decimals.
 */
export function priceScaleOf(tickSize: number | null | undefined): { pricescale: number; minmov: number } {
  if (typeof tickSize !== 'number' || !Number.isFinite(tickSize) || tickSize <= 0)
    return { pricescale: 100, minmov: 1 };
  for (let decimals = 0; decimals <= 8; decimals++) {
    const pricescale = 10 ** decimals;
    const scaled = tickSize * pricescale;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 && Math.round(scaled) >= 1)
      return { pricescale, minmov: Math.round(scaled) };
  }
  return { pricescale: 10 ** 8, minmov: Math.max(1, Math.round(tickSize * 10 ** 8)) };
}

/**
 * The UDF bar time (epoch seconds) of a candle starting at `time`. Intraday bars start where the
 * candles API says. TradingView wants a daily bar at 00:00 UTC of its trading date, while the candles
 * API's `1d` bucket starts at IST midnight (18:30 UTC the day before): the same bar, 5h30 later.
 */
export function udfBarTime(time: string | Date, interval: CandleInterval): number {
  const ms = new Date(time).getTime() + (interval === '1d' ? IST_OFFSET_MS : 0);
  return Math.floor(ms / 1000);
}
