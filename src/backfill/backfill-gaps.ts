import { MINUTE_MS } from '../contracts/market-time';
import { CoverageRange } from './backfill-coverage.repository';

export interface TimeRange {
  from: Date;
  to: Date;
}

export interface GapInput {
  /** Session minute starts of the lookback, ascending (ms). */
  sessionMinutes: readonly number[];
  /** Minute starts holding a stored candle (ms). */
  stored: ReadonlySet<number>;
  coverage: readonly CoverageRange[];
  /** Newest stored candle (ms), if any. */
  lastStored?: number;
}

/**
 * Session minutes that still need the upstream, as contiguous ranges (contiguous in session minutes:
 * a range may span a night or a weekend).
 *
 * A minute is missing when it is neither stored nor inside a trusted coverage range. A coverage range
 * is trusted while at least as many candles are stored in it as the fetch returned; fewer means rows
 * were lost since, and its empty-looking minutes can no longer be told from missing ones. The minutes
 * after the newest coverage are refetched even where stored: the candle of the minute that was still
 * forming at the last fetch, and stream-built bars, are replaced by the final history values.
 */
export function computeGaps(input: GapInput): TimeRange[] {
  const trusted = input.coverage.filter((range) => range.stored >= range.candles);
  // The newest fetch ends the tail whether or not its range is still trusted.
  const coveredEnd = input.coverage.reduce<number | undefined>(
    (max, range) => (max === undefined || range.to.getTime() > max ? range.to.getTime() : max),
    undefined,
  );
  const tailStart = coveredEnd ?? input.lastStored;
  const minutes = input.sessionMinutes;
  if (minutes.length === 0) return [];
  // Nothing known yet (a new subscription): the whole lookback in one range, without the walk.
  if (input.coverage.length === 0 && input.stored.size === 0)
    return [{ from: new Date(minutes[0]), to: new Date(minutes[minutes.length - 1] + MINUTE_MS) }];
  // Ranges as sorted [from, to) pairs walked alongside the ascending minutes: linear, not minutes x ranges.
  const spans = trusted
    .map((range) => [range.from.getTime(), range.to.getTime()] as const)
    .sort((a, b) => a[0] - b[0]);
  let spanIndex = 0;
  let coveredUntil = -Infinity;
  const isCovered = (minute: number): boolean => {
    while (spanIndex < spans.length && spans[spanIndex][0] <= minute) {
      coveredUntil = Math.max(coveredUntil, spans[spanIndex][1]);
      spanIndex++;
    }
    return minute < coveredUntil;
  };

  const ranges: TimeRange[] = [];
  let open: { from: number; to: number } | undefined;
  for (const minute of minutes) {
    const missing =
      !isCovered(minute) && (!input.stored.has(minute) || (tailStart !== undefined && minute >= tailStart));
    if (missing) {
      if (open) open.to = minute + MINUTE_MS;
      else open = { from: minute, to: minute + MINUTE_MS };
    } else if (open) {
      ranges.push({ from: new Date(open.from), to: new Date(open.to) });
      open = undefined;
    }
  }
  if (open) ranges.push({ from: new Date(open.from), to: new Date(open.to) });
  return ranges;
}

/**
 * Request windows for the gaps: one window from the first missing minute to the end of the last, cut
 * at 60 days. The upstream's limit counts requests, not minutes, so one request that also rereads a
 * few covered minutes costs less than one request per hole.
 */
export function windowsForGaps(gaps: readonly TimeRange[], maxMs: number): TimeRange[] {
  if (gaps.length === 0) return [];
  const windows: TimeRange[] = [];
  let current: { from: number; to: number } = { from: gaps[0].from.getTime(), to: gaps[0].to.getTime() };
  for (const gap of gaps.slice(1)) {
    if (gap.to.getTime() - current.from <= maxMs) {
      current.to = gap.to.getTime();
    } else {
      windows.push({ from: new Date(current.from), to: new Date(current.to) });
      current = { from: gap.from.getTime(), to: gap.to.getTime() };
    }
  }
  windows.push({ from: new Date(current.from), to: new Date(current.to) });
  return windows.flatMap((window) => {
    const pieces: TimeRange[] = [];
    for (let start = window.from.getTime(); start < window.to.getTime(); start += maxMs)
      pieces.push({ from: new Date(start), to: new Date(Math.min(start + maxMs, window.to.getTime())) });
    return pieces;
  });
}
