import { limiterFor } from './backfill.processor';

describe('limiterFor', () => {
  it('turns a rate into whole jobs per window', () => {
    expect(limiterFor(3)).toEqual({ max: 3, duration: 1000 });
    expect(limiterFor(0.5)).toEqual({ max: 1, duration: 2000 });
    expect(limiterFor(2.5)).toEqual({ max: 3, duration: 1200 });
  });
});
