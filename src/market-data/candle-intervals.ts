import { badField } from '../common/validation';
import { DAY_MS } from '../contracts/market-time';
import { CandleInterval } from './dto/candles.dto';

/** Buckets of `widthSeconds` aligned on `originSeconds`. */
export interface Bucketing {
  widthSeconds: number;
  /** Epoch seconds of one bucket start: 09:15 IST for intraday buckets, IST midnight for days. */
  originSeconds: number;
}

/** 09:15 IST on 1970-01-01, in epoch seconds: intraday buckets start at the session open. */
const SESSION_OPEN_ORIGIN = 3 * 3600 + 45 * 60;
/** IST midnight (18:30 UTC the day before): a daily bucket is the IST trading day. */
const IST_MIDNIGHT_ORIGIN = -(5 * 3600 + 30 * 60);

/** Each interval the candles API serves: its buckets and the longest window one request may ask for. */
export const INTERVALS: Record<CandleInterval, { bucketing: Bucketing; maxRangeDays: number }> = {
  '1m': { bucketing: { widthSeconds: 60, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 31 },
  '3m': { bucketing: { widthSeconds: 180, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 62 },
  '5m': { bucketing: { widthSeconds: 300, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 92 },
  '10m': { bucketing: { widthSeconds: 600, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 92 },
  '15m': { bucketing: { widthSeconds: 900, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 184 },
  '30m': { bucketing: { widthSeconds: 1800, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 366 },
  '1h': { bucketing: { widthSeconds: 3600, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 366 },
  '1d': { bucketing: { widthSeconds: 86_400, originSeconds: IST_MIDNIGHT_ORIGIN }, maxRangeDays: 3660 },
};

/** Start of the bucket holding `at`, or, `up`, of the first bucket starting at or after it. */
function bucketEdge(at: Date, { widthSeconds, originSeconds }: Bucketing, up: boolean): Date {
  const width = widthSeconds * 1000;
  const origin = originSeconds * 1000;
  const buckets = (at.getTime() - origin) / width;
  return new Date((up ? Math.ceil(buckets) : Math.floor(buckets)) * width + origin);
}

/** The window of a candles read: whole buckets, `start` inclusive, `end` exclusive. */
export interface CandleWindow {
  interval: CandleInterval;
  bucketing: Bucketing;
  start: Date;
  end: Date;
}

/**
 * The window a request asks for (`to` default now, `from` default a day before `to`), checked
 * against `maxRangeDays` (a 400 beyond it) and widened to the buckets it touches: a label means
 * every minute of its bucket, so a `from` or `to` inside a bucket would otherwise give a part of it.
 */
export function candleWindow(
  query: { from?: string; to?: string; interval: CandleInterval },
  now: Date,
  maxRangeDays = INTERVALS[query.interval].maxRangeDays,
): CandleWindow {
  const interval = query.interval;
  const { bucketing } = INTERVALS[interval];
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS);
  if (to.getTime() <= from.getTime()) throw badField('to', 'must be after from');
  if (to.getTime() - from.getTime() > maxRangeDays * DAY_MS)
    throw badField('from', `at most ${maxRangeDays} days per request at interval ${interval}`);
  return {
    interval,
    bucketing,
    start: bucketEdge(from, bucketing, false),
    end: bucketEdge(to, bucketing, true),
  };
}
