// What the coverage strip under the chart shows for each slot of the time axis, from the backfill's
// coverage of the instrument (GET /api/v1/instruments/{token}/coverage).

import { INTERVAL_SECONDS } from './sessions.js';

/** @typedef {import('./api.js').Interval} Interval */
/** @typedef {import('./api.js').Coverage} Coverage */
/** @typedef {'data' | 'empty' | 'gap' | 'none'} SlotState */
/** @typedef {{ from: string, to: string }} Band */
/** @typedef {{ data: Band[], empty: Band[], gap: Band[] }} Bands */

/**
 * @param {import('./api.js').TimeRange[]} list
 * @returns {{ from: number, to: number }[]} in epoch seconds
 */
const toSeconds = (list) =>
  list.map((r) => ({ from: Date.parse(r.from) / 1000, to: Date.parse(r.to) / 1000 }));

/**
 * @param {{ from: number, to: number }[]} ranges
 * @param {number} fromS
 * @param {number} toS
 */
const overlaps = (ranges, fromS, toS) => ranges.some((r) => r.from < toS && r.to > fromS);

/**
 * Each slot's state: a gap (not stored and not fetched) wins over data, so that a bucket with missing
 * minutes shows as a gap; a slot without a candle inside a fetched window was fetched and empty.
 * @param {number[]} slots
 * @param {Interval} interval
 * @param {Set<number>} candleTimes bucket starts that have a candle, epoch seconds
 * @param {Pick<Coverage, 'gaps' | 'covered'>} coverage
 * @returns {SlotState[]}
 */
export function coverageOfSlots(slots, interval, candleTimes, coverage) {
  const width = INTERVAL_SECONDS[interval];
  const gaps = toSeconds(coverage.gaps);
  const covered = toSeconds(coverage.covered);
  return slots.map((slot) => {
    const end = slot + width;
    if (overlaps(gaps, slot, end)) return 'gap';
    if (candleTimes.has(slot)) return 'data';
    if (overlaps(covered, slot, end)) return 'empty';
    return 'none';
  });
}

/**
 * Runs of equal state along the slots, as ISO ranges (end exclusive); `none` draws nothing.
 * @param {number[]} slots
 * @param {SlotState[]} states
 * @param {Interval} interval
 * @returns {Bands}
 */
export function bandsOf(slots, states, interval) {
  const width = INTERVAL_SECONDS[interval];
  /** @type {Bands} */
  const bands = { data: [], empty: [], gap: [] };
  let start = 0;
  for (let i = 1; i <= slots.length; i++) {
    if (i < slots.length && states[i] === states[start]) continue;
    const state = states[start];
    if (state !== 'none' && slots.length > 0) {
      bands[state].push({
        from: new Date(slots[start] * 1000).toISOString(),
        to: new Date((slots[i - 1] + width) * 1000).toISOString(),
      });
    }
    start = i;
  }
  return bands;
}

/**
 * @param {SlotState[]} states
 * @returns {Record<SlotState, number>}
 */
export function countStates(states) {
  /** @type {Record<SlotState, number>} */
  const counts = { data: 0, empty: 0, gap: 0, none: 0 };
  for (const state of states) counts[state]++;
  return counts;
}

/**
 * The legend's summary of the coverage.
 * @param {Coverage} coverage
 */
export function coverageSummary(coverage) {
  const gapMinutes = coverage.gaps.reduce((sum, gap) => sum + gap.minutes, 0);
  return (
    `· ${coverage.covered.length} fetched range(s), ${coverage.gaps.length} gap(s) (${gapMinutes} session minutes)` +
    (coverage.unsupported?.active ? ' · unsupported upstream' : '')
  );
}
