import { MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { computeGaps, windowsForGaps } from './backfill-gaps';

const calendar = new MarketCalendar([]);
// Wednesday 2026-11-25, one session.
const open = Date.parse('2026-11-25T03:45:00Z');
const minutes = calendar
  .sessionMinutes(new Date(open), new Date(open + 375 * MINUTE_MS))
  .map((minute) => minute.getTime());
const at = (index: number): number => open + index * MINUTE_MS;
const iso = (ms: number): string => new Date(ms).toISOString();

describe('computeGaps', () => {
  it('treats everything as missing when nothing is stored or covered', () => {
    const gaps = computeGaps({ sessionMinutes: minutes, stored: new Set(), coverage: [] });
    expect(gaps.map((g) => [iso(g.from.getTime()), iso(g.to.getTime())])).toEqual([
      [iso(at(0)), iso(at(375))],
    ]);
  });

  it('does not refetch covered empty minutes, but refetches the tail after the newest coverage', () => {
    const stored = new Set(minutes.filter((_, i) => i % 3 !== 0 && i < 200));
    const gaps = computeGaps({
      sessionMinutes: minutes.slice(0, 250),
      stored,
      coverage: [
        { from: new Date(at(0)), to: new Date(at(199)), candles: stored.size - 1, stored: stored.size - 1 },
      ],
      lastStored: at(199),
    });
    // 199 is stored but was forming at the fetch: refetched with the minutes after it.
    expect(gaps.map((g) => [iso(g.from.getTime()), iso(g.to.getTime())])).toEqual([
      [iso(at(199)), iso(at(250))],
    ]);
  });

  it('distrusts a coverage range that lost candles since the fetch (punched holes)', () => {
    const stored = new Set(minutes.filter((_, i) => i !== 10 && i !== 11));
    const gaps = computeGaps({
      sessionMinutes: minutes,
      stored,
      coverage: [{ from: new Date(at(0)), to: new Date(at(375)), candles: 375, stored: 373 }],
      lastStored: at(374),
    });
    expect(gaps.map((g) => [iso(g.from.getTime()), iso(g.to.getTime())])).toEqual([
      [iso(at(10)), iso(at(12))],
    ]);
  });

  it('spans gaps with one window per 60 days', () => {
    const gaps = [
      { from: new Date(at(0)), to: new Date(at(5)) },
      { from: new Date(at(100)), to: new Date(at(120)) },
    ];
    expect(windowsForGaps(gaps, 60 * 86_400_000)).toEqual([{ from: new Date(at(0)), to: new Date(at(120)) }]);
    expect(windowsForGaps(gaps, 50 * MINUTE_MS)).toEqual([
      { from: new Date(at(0)), to: new Date(at(5)) },
      { from: new Date(at(100)), to: new Date(at(120)) },
    ]);
    expect(windowsForGaps([], 1000)).toEqual([]);
  });
});
