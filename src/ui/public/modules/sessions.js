// The chart's time axis: every session minute of a window, in the buckets of the chosen interval.
// The sessions are the service's (the candles API with sessions=true: one calendar, kept by the
// service); the buckets are the candles API's own (README, "API"): intraday ones start at 09:15 IST
// and every multiple of their width after it, a 1d bucket is the IST day.

import { IST_OFFSET_S } from './format.js';

/** @typedef {import('./api.js').Interval} Interval */
/** @typedef {import('./api.js').Session} Session */

/** @type {Record<Interval, number>} */
export const INTERVAL_SECONDS = {
  '1m': 60,
  '3m': 180,
  '5m': 300,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '1d': 86400,
};

/** 09:15 IST on 1970-01-01, in epoch seconds: the origin of the intraday buckets. */
const SESSION_ORIGIN_S = 3 * 3600 + 45 * 60;

/**
 * @param {string} value
 * @returns {value is Interval}
 */
export function isInterval(value) {
  return Object.hasOwn(INTERVAL_SECONDS, value);
}

/**
 * Bucket starts (epoch seconds) of every session minute in [fromS, toS), ascending and distinct.
 * @param {Session[]} sessions ascending, as the API lists them
 * @param {Interval} interval
 * @param {number} fromS
 * @param {number} toS
 * @returns {number[]}
 */
export function sessionSlots(sessions, interval, fromS, toS) {
  const width = INTERVAL_SECONDS[interval];
  const firstMinute = Math.ceil(fromS / 60) * 60;
  /** @type {number[]} */
  const slots = [];
  for (const session of sessions) {
    const open = Date.parse(session.open) / 1000;
    const close = Date.parse(session.close) / 1000;
    const istMidnight = Date.parse(`${session.date}T00:00:00Z`) / 1000 - IST_OFFSET_S;
    for (let t = Math.max(open, firstMinute); t < Math.min(close, toS); t += 60) {
      const bucket =
        interval === '1d'
          ? istMidnight
          : Math.floor((t - SESSION_ORIGIN_S) / width) * width + SESSION_ORIGIN_S;
      // Minutes only move forward, and so do their buckets: a repeat can only be the last one.
      if (slots[slots.length - 1] !== bucket) slots.push(bucket);
    }
  }
  return slots;
}
