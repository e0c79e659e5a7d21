import { backoffDelay, limiterFor } from './backfill.processor';
import { HistoryError } from './history-provider';

describe('backoffDelay', () => {
  it('grows exponentially with jitter and honours Retry-After', () => {
    expect(backoffDelay(1, undefined, () => 0)).toBe(500);
    expect(backoffDelay(1, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(4, undefined, () => 1)).toBe(8000);
    expect(backoffDelay(20, undefined, () => 1)).toBe(60_000);
    const throttled = new HistoryError('transient', '429', 429, 5000);
    expect(backoffDelay(1, throttled, () => 0)).toBe(5000);
  });
});

describe('limiterFor', () => {
  it('turns a rate into whole jobs per window', () => {
    expect(limiterFor(3)).toEqual({ max: 3, duration: 1000 });
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(2.5)).toEqual({ max: 3, duration: 1200 });
  });
});
