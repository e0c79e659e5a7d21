// The chart panel: the selected instrument's candles over the backfill lookback (90 days at 1d),
// every session minute in its place and the coverage strip beneath, redrawn on each refresh.

import { getJson } from './api.js';
import { CandleChart, priceFormatOf } from './chart.js';
import { bandsOf, countStates, coverageOfSlots, coverageSummary } from './coverage.js';
import { byId } from './dom.js';
import { sessionSlots } from './sessions.js';

/** @typedef {import('./api.js').Interval} Interval */
/** @typedef {import('./api.js').SymbolInfo} SymbolInfo */
/** @typedef {import('./api.js').Coverage} Coverage */
/** @typedef {import('./api.js').CandlesAnswer} CandlesAnswer */
/** @typedef {import('./selection.js').Selection} Selection */

/** The 1d chart reaches this far back; intraday charts show the backfill lookback. */
const DAILY_RANGE_DAYS = 90;
/**
 * The candles API's longest range per request at each interval.
 * @type {Record<Interval, number>}
 */
const MAX_RANGE_DAYS = { '1m': 31, '3m': 62, '5m': 92, '15m': 184, '30m': 366, '1h': 366, '1d': 3660 };
const DAY_MS = 86_400_000;

/**
 * What the chart drew, for people and tests alike (`window.__chartState`).
 * @typedef {{ token: number | null, symbol: string | null, interval: Interval | null,
 *   from: string | null, to: string | null, candles: number, lastClose: number | null,
 *   lastTime: string | null, volumeBars: number, lastVolume: number | null, oiPoints: number,
 *   lastOi: number | null, slots: number, counts: Record<import('./coverage.js').SlotState, number>,
 *   bands: import('./coverage.js').Bands, coverageGaps: Coverage['gaps'], refreshedAt: string | null,
 *   renders: number, error: string | null }} ChartState
 */

/** @returns {ChartState} */
const emptyState = () => ({
  token: null,
  symbol: null,
  interval: null,
  from: null,
  to: null,
  candles: 0,
  lastClose: null,
  lastTime: null,
  volumeBars: 0,
  lastVolume: null,
  oiPoints: 0,
  lastOi: null,
  slots: 0,
  counts: { data: 0, empty: 0, gap: 0, none: 0 },
  bands: { data: [], empty: [], gap: [] },
  coverageGaps: [],
  refreshedAt: null,
  renders: 0,
  error: null,
});

/**
 * The window the chart asks for: the lookback (or 90 days at 1d), cut to what one request may ask.
 * @param {Coverage} coverage
 * @param {Interval} interval
 */
function windowOf(coverage, interval) {
  const to = Date.parse(coverage.lookback_to);
  const wanted = interval === '1d' ? to - DAILY_RANGE_DAYS * DAY_MS : Date.parse(coverage.lookback_from);
  const from = Math.max(wanted, to - MAX_RANGE_DAYS[interval] * DAY_MS);
  return { from: new Date(from).toISOString(), to: coverage.lookback_to };
}

export class ChartPanel {
  /** @type {SymbolInfo | null} */
  #symbolInfo = null;
  #fitNext = true;
  /** @type {ChartState} */
  state = emptyState();

  /** @param {Selection} selection */
  constructor(selection) {
    this.selection = selection;
    this.chart = new CandleChart(byId('chart'));
    selection.onChange((change) => {
      if (change === 'token') this.#symbolInfo = null;
      this.#fitNext = true;
    });
  }

  /** The selected instrument's tradingsymbol, once known. */
  get symbol() {
    return this.#symbolInfo?.name ?? null;
  }

  async refresh() {
    const { token, interval } = this.selection;
    if (token === null) return;
    if (!this.#symbolInfo || this.#symbolInfo.ticker !== String(token)) {
      /** @type {SymbolInfo} */
      const info = await getJson(`/udf/symbols?symbol=${token}`);
      this.#symbolInfo = info;
      byId('selected').textContent = `${info.name} · ${info.exchange} · ${token}`;
    }
    const symbolInfo = this.#symbolInfo;
    /** @type {Coverage} */
    const coverage = await getJson(`/api/v1/instruments/${token}/coverage`);
    const { from, to } = windowOf(coverage, interval);
    const query = new URLSearchParams({ from, to, interval, sessions: 'true' });
    /** @type {CandlesAnswer} */
    const answer = await getJson(`/api/v1/instruments/${token}/candles?${query}`);
    // The answer of an instrument or interval no longer selected is dropped.
    if (token !== this.selection.token || interval !== this.selection.interval) return;

    const slots = sessionSlots(
      answer.sessions ?? [],
      interval,
      Date.parse(from) / 1000,
      Date.parse(to) / 1000,
    );
    const candleTimes = new Set(answer.candles.map((c) => Date.parse(c.time) / 1000));
    const states = coverageOfSlots(slots, interval, candleTimes, coverage);
    const drawn = this.chart.draw({
      slots,
      states,
      candles: answer.candles,
      priceFormat: priceFormatOf(symbolInfo),
      fit: this.#fitNext,
    });
    this.#fitNext = false;
    const bands = bandsOf(slots, states, interval);
    byId('coverage-summary').textContent = coverageSummary(coverage);

    Object.assign(this.state, {
      token,
      symbol: symbolInfo.name,
      interval,
      from,
      to,
      ...drawn,
      lastTime: drawn.lastTime === null ? null : new Date(drawn.lastTime * 1000).toISOString(),
      slots: slots.length,
      counts: countStates(states),
      bands,
      coverageGaps: coverage.gaps,
      refreshedAt: new Date().toISOString(),
      renders: this.state.renders + 1,
      error: null,
    });
    const element = byId('chart');
    element.dataset.token = String(token);
    element.dataset.interval = interval;
    element.dataset.candles = String(drawn.candles);
    element.dataset.lastClose = drawn.lastClose === null ? '' : String(drawn.lastClose);
    element.dataset.gapBands = String(bands.gap.length);
  }
}
