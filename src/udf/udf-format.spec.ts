import { priceScaleOf, udfBarTime, UDF_RESOLUTION_INTERVALS, UDF_RESOLUTIONS } from './udf-format';

describe('UDF formats', () => {
  it.each([
    [0.05, { pricescale: 100, minmov: 5 }],
    [0.01, { pricescale: 100, minmov: 1 }],
    [0.1, { pricescale: 10, minmov: 1 }],
    [0.25, { pricescale: 100, minmov: 25 }],
    [1, { pricescale: 1, minmov: 1 }],
    [5, { pricescale: 1, minmov: 5 }],
    [0.0025, { pricescale: 10000, minmov: 25 }],
    [0, { pricescale: 100, minmov: 1 }],
    [null, { pricescale: 100, minmov: 1 }],
    [Number.NaN, { pricescale: 100, minmov: 1 }],
    [-0.05, { pricescale: 100, minmov: 1 }],
  ])('price scale of tick %p', (tick, expected) => {
    expect(priceScaleOf(tick)).toEqual(expected);
  });

  it('maps every listed resolution to a candles interval', () => {
    expect(UDF_RESOLUTIONS.map((r) => UDF_RESOLUTION_INTERVALS[r])).toEqual([
      '1m',
      '3m',
      '5m',
      '15m',
      '30m',
      '1h',
      '1d',
    ]);
    expect(UDF_RESOLUTION_INTERVALS.D).toBe('1d');
  });

  it('keeps intraday bar times and moves a daily bar to 00:00 UTC of its IST trading date', () => {
    expect(udfBarTime('2025-11-04T03:45:00.000Z', '5m')).toBe(Date.parse('2025-11-04T03:45:00Z') / 1000);
    // The 1d bucket of 4 November IST starts at 3 November 18:30 UTC.
    expect(udfBarTime('2025-11-03T18:30:00.000Z', '1d')).toBe(Date.parse('2025-11-04T00:00:00Z') / 1000);
  });
});
