// The backfill queue panel, from GET /api/v1/backfill/queue: the numbers /metrics exposes, as JSON.

import { getJson } from './api.js';
import { byId } from './dom.js';

/** @typedef {import('./api.js').QueueSnapshot} QueueSnapshot */

/**
 * The numbers the panel shows, by name (`window.__pageState.queue`). Waiting counts every job
 * waiting for a worker: plain, with a priority, or in a paused queue.
 * @param {QueueSnapshot} snapshot
 */
export function queueNumbers(snapshot) {
  const { depth } = snapshot;
  return {
    waiting: depth.waiting + depth.prioritized + depth.paused,
    delayed: depth.delayed,
    active: depth.active,
    failed: depth.failed,
    succeeded: snapshot.jobs.succeeded,
    triggersFailed: snapshot.jobs.failed,
    skipped: snapshot.jobs.skipped,
    candlesWritten: snapshot.candles_written,
    timeToDataCount: snapshot.time_to_data.count,
    timeToDataSum: snapshot.time_to_data.sum_seconds,
    circuitOpen: snapshot.upstream_circuit_open,
    subscriptionsActive: snapshot.subscriptions_active,
    streamBars: snapshot.stream_bars_written,
  };
}

/**
 * The panel's rows: key (`data-metric`), label, value.
 * @param {QueueSnapshot} snapshot
 * @param {boolean} backfillEnabled
 * @returns {[string, string, string][]}
 */
export function queueRows(snapshot, backfillEnabled) {
  const q = queueNumbers(snapshot);
  const mean = snapshot.time_to_data.mean_seconds;
  return [
    ['enabled', 'backfill', backfillEnabled ? 'enabled' : 'disabled'],
    ['waiting', 'waiting', String(q.waiting)],
    ['delayed', 'delayed (retry, rate limit)', String(q.delayed)],
    ['active', 'active', String(q.active)],
    ['failed', 'failed (kept)', String(q.failed)],
    ['succeeded', 'jobs succeeded', String(q.succeeded)],
    ['triggers-failed', 'jobs failed', String(q.triggersFailed)],
    ['skipped', 'requests skipped', String(q.skipped)],
    ['candles-written', 'candles written', String(q.candlesWritten)],
    [
      'time-to-data',
      `mean time to data (${q.timeToDataCount})`,
      mean === null ? '–' : `${mean.toFixed(2)} s`,
    ],
    ['circuit', 'upstream circuit', q.circuitOpen ? 'open' : 'closed'],
    ['subscriptions-active', 'active subscriptions', String(q.subscriptionsActive)],
    ['stream-bars', 'stream bars written', String(q.streamBars)],
  ];
}

export class QueuePanel {
  /** @type {ReturnType<typeof queueNumbers> | null} */
  numbers = null;

  /** @param {() => boolean} backfillEnabled */
  constructor(backfillEnabled) {
    this.backfillEnabled = backfillEnabled;
  }

  async refresh() {
    /** @type {QueueSnapshot} */
    const snapshot = await getJson('/api/v1/backfill/queue');
    this.numbers = queueNumbers(snapshot);
    byId('queue').replaceChildren(
      ...queueRows(snapshot, this.backfillEnabled()).flatMap(([key, label, value]) => {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        dd.textContent = value;
        dd.dataset.metric = key;
        return [dt, dd];
      }),
    );
  }
}
