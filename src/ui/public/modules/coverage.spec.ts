import { bandsOf, countStates, coverageOfSlots, coverageSummary } from './coverage.js';

const s = (iso: string): number => Date.parse(iso) / 1000;
// Six minutes from 09:15 IST.
const slots = [0, 1, 2, 3, 4, 5].map((i) => s('2025-11-04T03:45:00Z') + i * 60);

describe("the coverage strip's states", () => {
  const coverage = {
    covered: [{ from: '2025-11-04T03:45:00Z', to: '2025-11-04T03:49:00Z' }],
    gaps: [{ from: '2025-11-04T03:50:00Z', to: '2025-11-04T03:51:00Z', minutes: 1 }],
  };

  it('marks candles, fetched-and-empty minutes, gaps and what is neither', () => {
    // Candles at 09:15 and 09:16; 09:17 and 09:18 were fetched with nothing; 09:19 is outside every
    // range; 09:20 is a gap even though a candle is there (the gap wins).
    const candles = new Set([slots[0], slots[1], slots[5]]);
    const states = coverageOfSlots(slots, '1m', candles, coverage);
    expect(states).toEqual(['data', 'data', 'empty', 'empty', 'none', 'gap']);
    expect(countStates(states)).toEqual({ data: 2, empty: 2, gap: 1, none: 1 });
    expect(bandsOf(slots, states, '1m')).toEqual({
      data: [{ from: '2025-11-04T03:45:00.000Z', to: '2025-11-04T03:47:00.000Z' }],
      empty: [{ from: '2025-11-04T03:47:00.000Z', to: '2025-11-04T03:49:00.000Z' }],
      gap: [{ from: '2025-11-04T03:50:00.000Z', to: '2025-11-04T03:51:00.000Z' }],
    });
  });

  it('counts a wider bucket with any missing minute as a gap', () => {
    const bucket = [s('2025-11-04T03:45:00Z')];
    expect(coverageOfSlots(bucket, '15m', new Set(bucket), coverage)).toEqual(['gap']);
    expect(bandsOf([], [], '15m')).toEqual({ data: [], empty: [], gap: [] });
  });

  it('sums the gaps in the legend', () => {
    expect(
      coverageSummary({
        lookback_from: '2025-11-04T03:45:00Z',
        lookback_to: '2025-11-04T04:00:00Z',
        ...coverage,
        unsupported: { active: true, expires_at: '2025-11-04T11:30:00Z' },
      }),
    ).toBe('· 1 fetched range(s), 1 gap(s) (1 session minutes) · unsupported upstream');
  });
});
