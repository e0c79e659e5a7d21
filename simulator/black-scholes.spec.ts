import { blackScholes, normCdf } from './black-scholes';

describe('blackScholes', () => {
  it('matches textbook values (S=K=100, T=1, r=5%, vol=20%)', () => {
    expect(blackScholes('CE', 100, 100, 1, 0.05, 0.2).price).toBeCloseTo(10.4506, 3);
    expect(blackScholes('PE', 100, 100, 1, 0.05, 0.2).price).toBeCloseTo(5.5735, 3);
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.96)).toBeCloseTo(0.975, 3);
  });

  it('satisfies put-call parity', () => {
    const [spot, strike, years, rate, vol] = [24_650, 24_500, 7 / 365, 0.065, 0.14];
    const call = blackScholes('CE', spot, strike, years, rate, vol);
    const put = blackScholes('PE', spot, strike, years, rate, vol);
    expect(call.price - put.price).toBeCloseTo(spot - strike * Math.exp(-rate * years), 6);
    expect(call.delta - put.delta).toBeCloseTo(1, 6);
    expect(call.gamma).toBeCloseTo(put.gamma, 12);
    expect(call.vega).toBeCloseTo(put.vega, 9);
  });

  it('has greeks consistent with finite differences', () => {
    const price = (spot: number, vol: number, years: number): number =>
      blackScholes('CE', spot, 24_500, years, 0.065, vol).price;
    const base = blackScholes('CE', 24_600, 24_500, 10 / 365, 0.065, 0.15);
    expect((price(24_601, 0.15, 10 / 365) - price(24_599, 0.15, 10 / 365)) / 2).toBeCloseTo(base.delta, 4);
    expect(price(24_601, 0.15, 10 / 365) - 2 * base.price + price(24_599, 0.15, 10 / 365)).toBeCloseTo(
      base.gamma,
      5,
    );
    expect((price(24_600, 0.151, 10 / 365) - price(24_600, 0.149, 10 / 365)) / 0.2).toBeCloseTo(base.vega, 2);
    // Theta is per calendar day and negative for a long option.
    expect(price(24_600, 0.15, 9 / 365) - base.price).toBeCloseTo(base.theta, 0);
    expect(base.theta).toBeLessThan(0);
  });

  it('keeps deltas in range and prices above intrinsic value', () => {
    for (const strike of [23_000, 24_500, 26_000]) {
      const call = blackScholes('CE', 24_500, strike, 3 / 365, 0.065, 0.13);
      const put = blackScholes('PE', 24_500, strike, 3 / 365, 0.065, 0.13);
      expect(call.delta).toBeGreaterThanOrEqual(0);
      expect(call.delta).toBeLessThanOrEqual(1);
      expect(put.delta).toBeGreaterThanOrEqual(-1);
      expect(put.delta).toBeLessThanOrEqual(0);
      expect(call.price).toBeGreaterThanOrEqual(
        Math.max(0, 24_500 - strike * Math.exp((-0.065 * 3) / 365)) - 1e-9,
      );
      expect(put.price).toBeGreaterThanOrEqual(-1e-9);
    }
  });

  it('rejects a non-positive time to expiry', () => {
    expect(() => blackScholes('CE', 100, 100, 0, 0.05, 0.2)).toThrow('invalid input');
  });
});
