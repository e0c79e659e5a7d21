import { MINUTE_MS } from '../contracts/market-time';
import { Candle } from '../market-data/market-data.types';
import {
  classifyAnswer,
  coveredRange,
  describeMismatch,
  historyAnswer,
  WindowMismatchError,
} from './history-window';

const ist = (text: string): Date => new Date(`${text}+05:30`);
const candle = (time: Date): Candle => ({
  instrumentToken: 1,
  time,
  open: 1,
  high: 1,
  low: 1,
  close: 1,
  volume: 0,
  oi: null,
  iv: null,
  delta: null,
  gamma: null,
  theta: null,
  vega: null,
  underlyingClose: null,
});
/** One candle a minute over `[from, to)`, session or not. */
const minutes = (from: Date, to: Date): Candle[] => {
  const out: Candle[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += MINUTE_MS) out.push(candle(new Date(t)));
  return out;
};
const times = (candles: Candle[]): string[] => candles.map((c) => c.time.toISOString());

// The last hour of Tuesday 4 November 2025.
const lastHour = { from: ist('2025-11-04T14:30:00'), to: ist('2025-11-04T15:30:00') };

describe('classifyAnswer', () => {
  it('takes a right answer as proof of its window, the inclusive edge candle dropped silently', () => {
    const answer = minutes(lastHour.from, new Date(lastHour.to.getTime() + MINUTE_MS));
    const result = classifyAnswer(lastHour, answer);
    expect(result.mismatch).toBeUndefined();
    expect(result.inWindow).toHaveLength(60);
    expect(result.proves).toBe(true);
  });

  it('sees an answer 5h30 earlier (the quirk, correction off) as candles before the window, offset 330', () => {
    // Asked 14:30-15:30 IST; the ticker answered 09:00-10:00 IST (inclusive): 09:15 to 10:00.
    const answer = minutes(ist('2025-11-04T09:15:00'), ist('2025-11-04T10:01:00'));
    const result = classifyAnswer(lastHour, answer);
    expect(result.mismatch).toEqual({ earlier: 46, later: 0, offsetMinutes: 330 });
    expect(result.inWindow).toEqual([]);
    expect(result.proves).toBe(false);
  });

  it('sees an answer 5h30 later (the correction on a fixed ticker) as candles after the window, offset -330', () => {
    // Asked Tuesday 09:15-10:15; answered 14:45-15:45: 14:45 to 15:29.
    const morning = { from: ist('2025-11-04T09:15:00'), to: ist('2025-11-04T10:15:00') };
    const answer = minutes(ist('2025-11-04T14:45:00'), ist('2025-11-04T15:30:00'));
    expect(classifyAnswer(morning, answer).mismatch).toEqual({ earlier: 0, later: 45, offsetMinutes: -330 });
  });

  it('keeps real in-window candles of a mismatched answer, and reports offsets that are not the quirk', () => {
    const window = { from: ist('2025-11-04T10:00:00'), to: ist('2025-11-04T11:00:00') };
    // An answer one hour early: 09:00-10:00 inclusive.
    const answer = minutes(ist('2025-11-04T09:15:00'), ist('2025-11-04T10:01:00'));
    const result = classifyAnswer(window, answer);
    expect(result.mismatch).toEqual({ earlier: 45, later: 0, offsetMinutes: 60 });
    expect(times(result.inWindow)).toEqual([ist('2025-11-04T10:00:00').toISOString()]);
    // Candles on both sides: no single offset explains them.
    const spread = [candle(ist('2025-11-04T09:59:00')), candle(ist('2025-11-04T11:01:00'))];
    expect(classifyAnswer(window, spread).mismatch).toEqual({ earlier: 1, later: 1, offsetMinutes: null });
  });

  it('does not take a same-day answer that simply stops early as proof (the quirk at a session open)', () => {
    // Subscribed at 14:00 IST: the lookback asks Oct 29 09:15 to Nov 4 14:01 and, 5h30 early, gets
    // everything up to Nov 3 15:29 and nothing of today. No candle lies outside the window.
    const window = { from: ist('2025-10-29T09:15:00'), to: ist('2025-11-04T14:01:00') };
    const answer = [
      ...minutes(ist('2025-10-29T09:15:00'), ist('2025-10-29T15:30:00')),
      ...minutes(ist('2025-11-03T09:15:00'), ist('2025-11-03T15:30:00')),
    ];
    const result = classifyAnswer(window, answer);
    expect(result.mismatch).toBeUndefined();
    expect(result.proves).toBe(false);
    // A short tail answered right proves itself: 5h30 off, it would have been empty.
    const tail = { from: ist('2025-11-04T13:55:00'), to: ist('2025-11-04T14:01:00') };
    expect(classifyAnswer(tail, minutes(tail.from, ist('2025-11-04T14:01:00'))).proves).toBe(true);
    expect(classifyAnswer(tail, []).proves).toBe(false);
  });
});

describe('coveredRange', () => {
  const window = { from: ist('2025-10-29T09:15:00'), to: ist('2025-11-04T14:01:00') };
  const fetchedAt = ist('2025-11-04T14:00:30');
  const answer = minutes(ist('2025-10-29T09:20:00'), ist('2025-11-03T15:30:00'));

  it('covers the whole window up to the minute in progress when the answer is trusted', () => {
    expect(coveredRange(window, answer, true, fetchedAt)).toEqual({
      from: window.from,
      to: ist('2025-11-04T14:00:00'),
    });
    expect(coveredRange(window, [], true, fetchedAt)).toEqual({
      from: window.from,
      to: ist('2025-11-04T14:00:00'),
    });
  });

  it('covers only from the first to the end of the last candle otherwise, and nothing for an empty answer', () => {
    expect(coveredRange(window, answer, false, fetchedAt)).toEqual({
      from: ist('2025-10-29T09:20:00'),
      to: ist('2025-11-03T15:30:00'),
    });
    expect(coveredRange(window, [], false, fetchedAt)).toBeUndefined();
    // Never beyond the minute in progress, which is not final.
    const forming = [candle(ist('2025-11-04T14:00:00'))];
    expect(coveredRange(window, forming, false, fetchedAt)).toBeUndefined();
  });
});

describe('historyAnswer', () => {
  it('trusts an answer when the shift was verified or the candles prove it, never with a mismatch', () => {
    const quirky = minutes(ist('2025-11-04T09:15:00'), ist('2025-11-04T10:01:00'));
    expect(historyAnswer(lastHour, quirky, 0, true)).toMatchObject({
      answer: { spansWindow: false, candles: [], mismatch: { offsetMinutes: 330, retryable: false } },
      proves: false,
    });
    const right = minutes(lastHour.from, lastHour.to);
    expect(historyAnswer(lastHour, right, 330, false)).toMatchObject({
      answer: { spansWindow: true },
      proves: true,
    });
    expect(historyAnswer(lastHour, right.slice(40), 330, false).answer.spansWindow).toBe(false);
    expect(historyAnswer(lastHour, right.slice(40), 330, true).answer.spansWindow).toBe(true);
  });

  it('says what went wrong in words', () => {
    const error = new WindowMismatchError('ticker', { earlier: 46, later: 0, offsetMinutes: 330 }, 0, 3);
    expect(error.message).toBe(
      'wrong window: ticker answered for a window 330 minutes earlier than asked (shift in use 0 minutes; 46 candles before the window, 0 after it); 3 candles inside it kept, no coverage recorded',
    );
    expect(describeMismatch('kite', { earlier: 1, later: 1, offsetMinutes: null }, 0)).toContain(
      'a window no single offset explains',
    );
  });
});
