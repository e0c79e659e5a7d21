import { floorToMinute, MINUTE_MS } from '../contracts/market-time';
import { Candle } from '../market-data/market-data.types';
import type { TimeRange } from './backfill-gaps';

/** The upstreams history can come from (HISTORY_PROVIDER). */
export type HistoryProviderName = 'ticker' | 'kite';

/**
 * An answer whose candles all lie within this much of the asked window's ends cannot be 5h30 (or any
 * offset of this size or more) away from it: the offsets the upstream is known to make are whole
 * timezone differences, never a few minutes.
 */
export const PROOF_TOLERANCE_MINUTES = 30;

/** The known error of the ticker's `/history` (CONTRACTS.md section 3): 5h30 earlier than asked. */
export const KNOWN_QUIRK_MINUTES = 330;

export interface WindowMismatch {
  /** Candles before the window asked for. */
  earlier: number;
  /** Candles after it (the candle at exactly `to` is the inclusive edge, not counted). */
  later: number;
  /**
   * The offset k (minutes) such that the upstream answered for `[from - k, to - k]`: positive when it
   * answered an earlier window. Null when no single offset explains the candles.
   */
  offsetMinutes: number | null;
}

export interface AnswerClassification {
  /** Candles starting in `[from, to)`, ascending. */
  inWindow: Candle[];
  mismatch?: WindowMismatch;
  /**
   * The candles alone show the window was answered: none outside it, and the first and the last
   * within PROOF_TOLERANCE_MINUTES of its ends, so the answer cannot be off by that much or more.
   */
  proves: boolean;
}

/** The offset to report for a feasible range `[lo, hi]` (minutes): the known quirk, else the smallest. */
function chooseOffset(lo: number, hi: number): number | null {
  if (lo > hi) return null;
  for (const known of [KNOWN_QUIRK_MINUTES, -KNOWN_QUIRK_MINUTES])
    if (known >= lo && known <= hi) return known;
  // Timezone offsets are whole half hours; prefer one, then the smallest magnitude that fits.
  const halfHours = [Math.ceil(lo / 30) * 30, Math.floor(hi / 30) * 30].filter((k) => k >= lo && k <= hi);
  const candidates = halfHours.length > 0 ? halfHours : [lo, hi];
  return candidates.reduce((best, k) => (Math.abs(k) < Math.abs(best) ? k : best));
}

/**
 * Classifies an upstream answer for the window `[from, to)` before anything is clipped: which candles
 * are in the window, whether any fell outside it (the wrong-window signal) and the offset they imply,
 * and whether the candles themselves prove the window was the one answered.
 *
 * Kite and the ticker read `to` inclusively, so a candle starting exactly at `to` belongs to a right
 * answer: it is dropped without counting as outside. Every candle of an answer for `[from - k, to - k]`
 * satisfies `from - k <= t <= to - k`, so the offsets the candles allow are `[from - first, to - last]`.
 */
export function classifyAnswer(window: TimeRange, candles: readonly Candle[]): AnswerClassification {
  const from = window.from.getTime();
  const to = window.to.getTime();
  const inWindow: Candle[] = [];
  let earlier = 0;
  let later = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const candle of candles) {
    const t = candle.time.getTime();
    first = Math.min(first, t);
    last = Math.max(last, t);
    if (t < from) earlier++;
    else if (t > to) later++;
    else if (t < to) inWindow.push(candle);
  }
  inWindow.sort((a, b) => a.time.getTime() - b.time.getTime());
  if (candles.length === 0) return { inWindow, proves: false };
  const lo = (from - first) / MINUTE_MS;
  const hi = (to - last) / MINUTE_MS;
  if (earlier > 0 || later > 0) {
    return { inWindow, mismatch: { earlier, later, offsetMinutes: chooseOffset(lo, hi) }, proves: false };
  }
  return { inWindow, proves: lo > -PROOF_TOLERANCE_MINUTES && hi < PROOF_TOLERANCE_MINUTES };
}

/**
 * What a job may record as fetched. An answer trusted to span its window (the shift in use is
 * verified, or the answer proves itself) covers `[from, to)` up to the minute in progress, which is not
 * final. Otherwise only the stretch between its first and its last candle is known to lie inside
 * whatever window the upstream answered, in either direction: that is recorded, nothing beyond, and
 * an empty answer records nothing. The minutes left out stay gaps and are asked for again.
 */
export function coveredRange(
  window: TimeRange,
  inWindow: readonly Candle[],
  spansWindow: boolean,
  fetchedAt: Date,
): TimeRange | undefined {
  const end = Math.min(window.to.getTime(), floorToMinute(fetchedAt).getTime());
  let from = window.from.getTime();
  let to = end;
  if (!spansWindow) {
    if (inWindow.length === 0) return undefined;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const candle of inWindow) {
      first = Math.min(first, candle.time.getTime());
      last = Math.max(last, candle.time.getTime());
    }
    from = Math.max(from, first);
    to = Math.min(end, last + MINUTE_MS);
  }
  return to > from ? { from: new Date(from), to: new Date(to) } : undefined;
}

/** One upstream answer, classified against the window asked for. */
export interface HistoryAnswer {
  /** Candles starting in the window asked for (true timestamps), ascending. */
  candles: Candle[];
  /** Minutes added to the window sent upstream (the ticker's correction; 0 for Kite). */
  shiftMinutes: number;
  /** Coverage may be the whole window: the shift in use was verified, or the answer proves itself. */
  spansWindow: boolean;
  /** How the upstream names the instrument (the ticker's answer does; Kite's does not). */
  instrument?: { tradingsymbol: string; segment: string | null };
  /** Candles outside the window: the upstream answered another window. */
  mismatch?: WindowMismatch & {
    /** The shift has been corrected since the request: asking again is not asking the same thing. */
    retryable: boolean;
  };
}

/**
 * Builds the answer of a request made with `shiftMinutes`, verified (or not) when it was made, and
 * says whether the candles prove the window on their own.
 */
export function historyAnswer(
  window: TimeRange,
  candles: readonly Candle[],
  shiftMinutes: number,
  shiftVerified: boolean,
): { answer: HistoryAnswer; proves: boolean } {
  const classified = classifyAnswer(window, candles);
  return {
    answer: {
      candles: classified.inWindow,
      shiftMinutes,
      spansWindow: !classified.mismatch && (shiftVerified || classified.proves),
      mismatch: classified.mismatch && { ...classified.mismatch, retryable: false },
    },
    proves: classified.proves,
  };
}

/** How an answer for the wrong window is described, in the job record and the log. */
export function describeMismatch(
  provider: HistoryProviderName,
  mismatch: WindowMismatch,
  shiftMinutes: number,
): string {
  const offset = mismatch.offsetMinutes;
  const which =
    offset === null
      ? 'a window no single offset explains'
      : `a window ${Math.abs(offset)} minutes ${offset > 0 ? 'earlier' : 'later'} than asked`;
  return `wrong window: ${provider} answered for ${which} (shift in use ${shiftMinutes} minutes; ${mismatch.earlier} candles before the window, ${mismatch.later} after it)`;
}

/** A job whose answer was for another window: not retried with the same window, minutes left as gaps. */
export class WindowMismatchError extends Error {
  constructor(
    readonly provider: HistoryProviderName,
    readonly mismatch: WindowMismatch,
    readonly shiftMinutes: number,
    kept: number,
  ) {
    super(
      `${describeMismatch(provider, mismatch, shiftMinutes)}; ${kept} candles inside it kept, no coverage recorded`,
    );
    this.name = 'WindowMismatchError';
  }
}
