import { addWindow, finishedBuckets, takeNewestSlice, Window } from './candle-aggregates.refresher';

const MIN = 60_000;
const DAY = 86_400_000;
const T = Date.parse('2025-07-29T03:45:00Z');
const w = (fromMin: number, toMin: number): Window => ({ from: T + fromMin * MIN, to: T + toMin * MIN });

describe('aggregate refresh windows', () => {
  it('widens windows to 15-minute boundaries and merges overlapping or touching ones', () => {
    let pending = addWindow([], w(3, 20));
    expect(pending).toEqual([w(0, 30)]);
    pending = addWindow(pending, w(30, 31));
    expect(pending).toEqual([w(0, 45)]);
    pending = addWindow(pending, w(100, 101));
    pending = addWindow(pending, w(-50, -40));
    expect(pending).toEqual([w(-60, -30), w(0, 45), w(90, 105)]);
    expect(addWindow(pending, w(-40, 95))).toEqual([w(-60, 105)]);
    expect(addWindow([], w(5, 5))).toEqual([]);
  });

  it('keeps at most `max` windows by merging the closest ones', () => {
    let pending: Window[] = [];
    for (const start of [0, 60, 135, 300, 990]) pending = addWindow(pending, w(start, start + 15), 3);
    expect(pending).toEqual([w(0, 150), w(300, 315), w(990, 1005)]);
  });

  it('takes the newest week first and leaves the rest', () => {
    const pending = [w(0, 15), { from: T, to: T + 20 * DAY }];
    const first = takeNewestSlice(pending, 7 * DAY)!;
    expect(first.slice).toEqual({ from: T + 13 * DAY, to: T + 20 * DAY });
    expect(first.rest).toEqual([w(0, 15), { from: T, to: T + 13 * DAY }]);
    const small = takeNewestSlice([w(0, 15)], 7 * DAY)!;
    expect(small).toEqual({ slice: w(0, 15), rest: [] });
    expect(takeNewestSlice([])).toBeUndefined();
  });

  it('refreshes finished buckets only, like the refresh policy', () => {
    const now = T + 62 * MIN;
    // 5-minute buckets: the one in progress (60-65) and the one before it (ended 2 min ago) wait.
    expect(finishedBuckets(w(0, 90), 5 * MIN, now)).toEqual(w(0, 55));
    expect(finishedBuckets(w(0, 90), 15 * MIN, now)).toEqual(w(0, 45));
    expect(finishedBuckets(w(50, 65), 15 * MIN, now)).toBeUndefined();
    expect(finishedBuckets(w(2, 4), 5 * MIN, now)).toEqual(w(0, 5));
  });
});
