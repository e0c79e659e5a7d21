// The subscriptions table: the service's view of each instrument, its newest backfill, its time to
// data and whether the upstream knows it. A click on a row selects its instrument.

import { getJson } from './api.js';
import { byId, cell } from './dom.js';
import { ist, seconds } from './format.js';

/** @typedef {import('./api.js').Subscription} Subscription */
/** @typedef {import('./api.js').Coverage} Coverage */
/** @typedef {import('./selection.js').Selection} Selection */

/** The coverage of every row (for the unsupported column) is read again every this many refreshes. */
const ROW_DETAIL_EVERY = 6;
/** Coverage requests at once: each is a plan over the whole lookback. */
const ROW_DETAIL_PARALLEL = 4;

/**
 * @param {Subscription['backfill']} backfill
 * @returns {[string, string]} text and class
 */
function lastBackfillText(backfill) {
  if (!backfill) return ['–', ''];
  const when = backfill.finished_at ? ist(backfill.finished_at) : `requested ${ist(backfill.requested_at)}`;
  return [`${backfill.state} · ${backfill.trigger} · ${when}`, `state-${backfill.state}`];
}

/**
 * @param {Coverage | undefined} coverage
 * @returns {[string, string]} text and class
 */
function unsupportedText(coverage) {
  if (!coverage) return ['…', 'muted'];
  const mark = coverage.unsupported;
  if (!mark) return ['no', ''];
  if (!mark.active) return [`expired ${ist(mark.expires_at)}`, 'muted'];
  return [`yes, until ${ist(mark.expires_at)}`, 'unsupported-yes'];
}

export class SubscriptionsPanel {
  /** @type {Subscription[]} */
  subscriptions = [];
  /** @type {Map<number, Coverage>} */
  #rowDetail = new Map();
  /** @type {Map<number, number>} token -> ms */
  #timeToData = new Map();
  #rounds = 0;

  /** @param {Selection} selection */
  constructor(selection) {
    this.selection = selection;
    selection.onChange((change) => {
      if (change === 'token') this.render();
    });
  }

  async refresh() {
    const round = this.#rounds++;
    const [list, jobs] = await Promise.all([
      /** @type {Promise<import('./api.js').SubscriptionList>} */ (
        getJson('/api/v1/subscriptions?limit=1000')
      ),
      /** @type {Promise<import('./api.js').JobList>} */ (getJson('/api/v1/backfill/jobs?limit=500')),
    ]);
    this.subscriptions = list.subscriptions;
    byId('subscriptions-total').textContent = `(${list.total})`;
    // Jobs come newest first: the first one with a time to data is the latest.
    this.#timeToData = new Map();
    for (const job of jobs.jobs) {
      if (job.time_to_data_ms !== null && !this.#timeToData.has(job.instrument_token))
        this.#timeToData.set(job.instrument_token, job.time_to_data_ms);
    }
    const missing =
      round % ROW_DETAIL_EVERY === 0
        ? this.subscriptions
        : this.subscriptions.filter((s) => !this.#rowDetail.has(s.instrument_token));
    for (let i = 0; i < missing.length; i += ROW_DETAIL_PARALLEL) {
      await Promise.all(
        missing.slice(i, i + ROW_DETAIL_PARALLEL).map(async (sub) => {
          try {
            this.#rowDetail.set(
              sub.instrument_token,
              await getJson(`/api/v1/instruments/${sub.instrument_token}/coverage`),
            );
          } catch {
            // Shown as unknown until the next round.
          }
        }),
      );
    }
    this.render();
  }

  render() {
    const rows = this.subscriptions.map((sub) => {
      const tr = document.createElement('tr');
      tr.dataset.token = String(sub.instrument_token);
      tr.classList.toggle('selected', sub.instrument_token === this.selection.token);
      const [backfill, backfillClass] = lastBackfillText(sub.backfill);
      const [unsupported, unsupportedClass] = unsupportedText(this.#rowDetail.get(sub.instrument_token));
      tr.append(
        cell(`${sub.tradingsymbol ?? '?'} (${sub.instrument_token})`),
        cell(sub.status, sub.status === 'active' ? '' : 'muted'),
        cell(ist(sub.last_candle_time)),
        cell(backfill, backfillClass),
        cell(seconds(this.#timeToData.get(sub.instrument_token))),
        cell(unsupported, unsupportedClass),
      );
      tr.addEventListener('click', () => this.selection.select(sub.instrument_token));
      return tr;
    });
    byId('subscriptions')
      .querySelector('tbody')
      ?.replaceChildren(...rows);
  }
}
