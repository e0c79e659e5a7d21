// The chart itself (TradingView Lightweight Charts): candles, volume, OI and the coverage strip in
// four panes on one time axis. It draws what it is given and reads back what it holds.

import {
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  createChart,
} from '/ui/vendor/lightweight-charts.mjs';
import { IST_OFFSET_S } from './format.js';

/** @typedef {import('/ui/vendor/lightweight-charts.mjs').UTCTimestamp} UTCTimestamp */
/** @typedef {import('./api.js').Candle} Candle */
/** @typedef {import('./api.js').SymbolInfo} SymbolInfo */
/** @typedef {import('./coverage.js').SlotState} SlotState */

/**
 * What the series hold after a draw (a canvas cannot be read): counts and last values, times UTC.
 * @typedef {{ candles: number, lastClose: number | null, lastTime: number | null, volumeBars: number,
 *   lastVolume: number | null, oiPoints: number, lastOi: number | null }} Drawn
 */

const COLORS = { data: '#22a06b', empty: '#b6bcc6', gap: '#e5484d', up: '#26a69a', down: '#ef5350' };

/**
 * The chart shows UTC; times are shifted to the IST wall clock before they reach it.
 * @param {number} t epoch seconds
 * @returns {UTCTimestamp}
 */
const shown = (t) => /** @type {UTCTimestamp} */ (t + IST_OFFSET_S);

/**
 * The price format of the symbol's UDF fields (pricescale 100, minmov 5: steps of 0.05).
 * @param {Pick<SymbolInfo, 'pricescale' | 'minmov'>} info
 */
export function priceFormatOf(info) {
  return {
    type: /** @type {const} */ ('price'),
    precision: Math.max(0, Math.round(Math.log10(info.pricescale))),
    minMove: info.minmov / info.pricescale,
  };
}

/** @param {HTMLElement} container */
function build(container) {
  const chart = createChart(container, {
    autoSize: true,
    layout: { background: { color: '#ffffff' }, textColor: '#1f2430', attributionLogo: true },
    grid: { vertLines: { color: '#f0f1f3' }, horzLines: { color: '#f0f1f3' } },
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderColor: '#e5e7eb' },
  });
  const candles = chart.addSeries(
    CandlestickSeries,
    {
      upColor: COLORS.up,
      downColor: COLORS.down,
      wickUpColor: COLORS.up,
      wickDownColor: COLORS.down,
      borderVisible: false,
    },
    0,
  );
  const volume = chart.addSeries(
    HistogramSeries,
    { title: 'volume', priceFormat: { type: 'volume' }, priceLineVisible: false },
    1,
  );
  const oi = chart.addSeries(
    LineSeries,
    { title: 'OI', color: '#7c3aed', lineWidth: 1, priceFormat: { type: 'volume' }, priceLineVisible: false },
    2,
  );
  const coverage = chart.addSeries(
    HistogramSeries,
    {
      title: 'coverage',
      priceLineVisible: false,
      lastValueVisible: false,
      priceFormat: { type: 'custom', formatter: () => '' },
    },
    3,
  );
  const panes = chart.panes();
  [8, 2, 2, 0.6].forEach((factor, i) => panes[i]?.setStretchFactor(factor));
  return { chart, series: { candles, volume, oi, coverage } };
}

export class CandleChart {
  /** @type {ReturnType<typeof build> | undefined} */
  #built;

  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
  }

  /**
   * Draws the candles on the slots of the time axis. A slot without a candle stays on the axis as
   * whitespace, so that missing minutes take room instead of closing up.
   * @param {{ slots: number[], states: SlotState[], candles: Candle[],
   *   priceFormat: ReturnType<typeof priceFormatOf>, fit: boolean }} what
   * @returns {Drawn}
   */
  draw({ slots, states, candles, priceFormat, fit }) {
    // Created on the first draw: a page with nothing selected shows no empty chart.
    this.#built ??= build(this.container);
    const { chart, series } = this.#built;
    const byTime = new Map(candles.map((c) => [Date.parse(c.time) / 1000, c]));
    const times = [...new Set([...slots, ...byTime.keys()])].sort((a, b) => a - b);
    const stateAt = new Map(slots.map((slot, i) => [slot, states[i]]));
    const candleData = [];
    const volumeData = [];
    const oiData = [];
    const coverageData = [];
    for (const t of times) {
      const time = shown(t);
      const c = byTime.get(t);
      if (c) {
        candleData.push({ time, open: c.open, high: c.high, low: c.low, close: c.close });
        volumeData.push({ time, value: c.volume, color: c.close >= c.open ? '#26a69a88' : '#ef535088' });
        oiData.push(c.oi === null ? { time } : { time, value: c.oi });
      } else {
        candleData.push({ time });
        volumeData.push({ time });
        oiData.push({ time });
      }
      const state = stateAt.get(t);
      coverageData.push(state && state !== 'none' ? { time, value: 1, color: COLORS[state] } : { time });
    }
    series.candles.applyOptions({ priceFormat });
    series.candles.setData(candleData);
    series.volume.setData(volumeData);
    series.oi.setData(oiData);
    series.coverage.setData(coverageData);
    if (fit) chart.timeScale().fitContent();
    return this.#readBack();
  }

  /** @returns {Drawn} what the series hold, not what was handed to them */
  #readBack() {
    if (!this.#built) throw new Error('nothing drawn yet');
    const { series } = this.#built;
    const drawn = series.candles.data().filter((d) => 'close' in d);
    const last = drawn[drawn.length - 1];
    const volumes = series.volume.data().filter((d) => 'value' in d);
    const ois = series.oi.data().filter((d) => 'value' in d);
    const lastValue = (/** @type {readonly { value?: number }[]} */ list) =>
      list.length > 0 ? (list[list.length - 1].value ?? null) : null;
    return {
      candles: drawn.length,
      lastClose: last && 'close' in last ? last.close : null,
      lastTime: last ? Number(last.time) - IST_OFFSET_S : null,
      volumeBars: volumes.length,
      lastVolume: lastValue(volumes),
      oiPoints: ois.length,
      lastOi: lastValue(ois),
    };
  }
}
