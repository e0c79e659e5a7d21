// What the page shows: one instrument at one interval, kept in the address (#token=...&interval=...)
// so that a reload or a shared link opens the same chart.

import { isInterval } from './sessions.js';

/** @typedef {import('./api.js').Interval} Interval */
/** @typedef {(change: 'token' | 'interval') => void} SelectionListener */

export class Selection {
  /** @type {number | null} */
  token = null;
  /** @type {Interval} */
  interval = '1m';
  /** @type {SelectionListener[]} */
  #listeners = [];

  /**
   * The selection an address names; anything unreadable in it is left at the default.
   * @param {string} hash `#token=...&interval=...`
   */
  static fromHash(hash) {
    const selection = new Selection();
    const params = new URLSearchParams(hash.replace(/^#/, ''));
    const interval = params.get('interval');
    if (interval && isInterval(interval)) selection.interval = interval;
    const token = Number(params.get('token'));
    if (Number.isInteger(token) && token > 0) selection.token = token;
    return selection;
  }

  /** @param {SelectionListener} listener called after each change */
  onChange(listener) {
    this.#listeners.push(listener);
  }

  /** @param {number} token */
  select(token) {
    if (this.token === token) return;
    this.token = token;
    this.#changed('token');
  }

  /** @param {Interval} interval */
  setInterval(interval) {
    if (this.interval === interval) return;
    this.interval = interval;
    this.#changed('interval');
  }

  /** @param {'token' | 'interval'} change */
  #changed(change) {
    if (this.token !== null) history.replaceState(null, '', `#token=${this.token}&interval=${this.interval}`);
    for (const listener of this.#listeners) listener(change);
  }
}
