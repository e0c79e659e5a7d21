import { SlotLimiter } from './rate-limiter';

describe('SlotLimiter', () => {
  it('lets 3 requests start per second and queues the rest in order', () => {
    const limiter = new SlotLimiter(3);
    const waits = Array.from({ length: 7 }, () => limiter.reserve(1_000, 30_000));
    expect(waits).toEqual([0, 0, 0, 1_000, 1_000, 1_000, 2_000]);
    // The seventh holds the first slot at 3000; two remain there.
    expect(limiter.reserve(2_500, 30_000)).toBe(500);
  });

  it('refuses a reservation beyond the maximum wait without taking a slot', () => {
    const limiter = new SlotLimiter(1);
    expect(limiter.reserve(0, 500)).toBe(0);
    expect(limiter.reserve(0, 500)).toBeUndefined();
    expect(limiter.reserve(1_000, 500)).toBe(0);
  });

  it('is unlimited at rate 0 and spaces fractional rates', () => {
    expect(new SlotLimiter(0).reserve(0, 0)).toBe(0);
    const half = new SlotLimiter(0.5);
    expect(half.reserve(0, 10_000)).toBe(0);
    expect(half.reserve(0, 10_000)).toBe(2_000);
  });
});
