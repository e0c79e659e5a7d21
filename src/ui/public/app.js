// The chart and coverage page: a client of the service's own API, nothing else. This module only
// wires the panels (modules/) together; a new panel is a module with a refresh() listed in `round`.

import { BackfillButton } from './modules/backfill-button.js';
import { ChartPanel } from './modules/chart-panel.js';
import { byId, setStatus } from './modules/dom.js';
import { Flags } from './modules/flags.js';
import { QueuePanel } from './modules/queue.js';
import { REFRESH_MS, RefreshLoop } from './modules/refresh.js';
import { attachSearch } from './modules/search.js';
import { Selection } from './modules/selection.js';
import { isInterval } from './modules/sessions.js';
import { SubscriptionsPanel } from './modules/subscriptions.js';

const selection = Selection.fromHash(location.hash);
const flags = new Flags();
const chart = new ChartPanel(selection);
const subscriptions = new SubscriptionsPanel(selection);
const queue = new QueuePanel(() => flags.backfillMaybeEnabled);
const loop = new RefreshLoop(round);
const backfill = new BackfillButton({ selection, flags, onQueued: () => void loop.now() });

/** What the page shows, for people and tests alike (a canvas cannot be read). */
const pageState = {
  subscriptions: 0,
  /** @type {ReturnType<typeof import('./modules/queue.js').queueNumbers> | {}} */
  queue: {},
  refreshes: 0,
  /** @type {string | null} */
  lastError: null,
};
Object.assign(window, { __chartState: chart.state, __pageState: pageState });

async function round() {
  /** @type {Error[]} */
  const errors = [];
  const guarded = (/** @type {{ refresh(): Promise<void> }} */ panel) =>
    panel.refresh().catch((/** @type {Error} */ error) => void errors.push(error));
  // The flags first: the queue panel and the button show what they say.
  await guarded(flags);
  await Promise.all([guarded(subscriptions), guarded(queue), guarded(chart)]);
  pageState.subscriptions = subscriptions.subscriptions.length;
  if (queue.numbers) pageState.queue = queue.numbers;
  pageState.refreshes++;
  backfill.update(chart.symbol);
  if (errors.length > 0) {
    const message = errors.map((e) => e.message).join(' · ');
    pageState.lastError = message;
    chart.state.error = message;
    setStatus(`error: ${message}`, true);
  } else {
    pageState.lastError = null;
    setStatus(`updated ${new Date().toLocaleTimeString([], { hour12: false })} (local clock)`);
  }
}

selection.onChange(() => void loop.now());

byId('refresh-seconds').textContent = String(REFRESH_MS / 1000);
const intervalPicker = byId('interval', HTMLSelectElement);
intervalPicker.value = selection.interval;
intervalPicker.addEventListener('change', () => {
  if (isInterval(intervalPicker.value)) selection.setInterval(intervalPicker.value);
});
attachSearch({
  onPick: (token) => selection.select(token),
  onError: (error) => setStatus(`search: ${error.message}`, true),
});
loop.start();
