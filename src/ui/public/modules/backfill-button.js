// The backfill button: POST /api/v1/backfill for the selected instrument, with the API key when the
// service requires one.

import { askApiKey, forgetApiKey, keepApiKey, storedApiKey } from './api-key.js';
import { postJson } from './api.js';
import { byId } from './dom.js';

/** @typedef {import('./selection.js').Selection} Selection */
/** @typedef {import('./flags.js').Flags} Flags */
/** @typedef {import('./api.js').BackfillAccepted} BackfillAccepted */

export class BackfillButton {
  /**
   * @param {{ selection: Selection, flags: Flags, onQueued: () => void }} options
   */
  constructor({ selection, flags, onQueued }) {
    this.selection = selection;
    this.flags = flags;
    this.onQueued = onQueued;
    this.button = byId('backfill-button', HTMLButtonElement);
    this.result = byId('backfill-result');
    this.button.addEventListener('click', () => {
      this.request().catch(
        (/** @type {Error} */ error) => (this.result.textContent = `failed: ${error.message}`),
      );
    });
    selection.onChange((change) => {
      if (change === 'token') this.result.textContent = '';
    });
  }

  /** @param {string | null} symbol the selected instrument's tradingsymbol, once known */
  update(symbol) {
    const enabled = this.flags.backfillEnabled;
    this.button.disabled = this.selection.token === null || !enabled;
    this.button.title = enabled ? '' : 'backfill is disabled on this service';
    this.button.textContent = symbol ? `Backfill ${symbol}` : 'Backfill';
  }

  async request() {
    const token = this.selection.token;
    if (token === null) return;
    let key = storedApiKey();
    if (this.flags.apiKeyRequired && !key) {
      key = await askApiKey();
      if (!key) {
        this.result.textContent = 'cancelled: no API key';
        return;
      }
    }
    this.result.textContent = 'requesting…';
    const { status, body } = await postJson(
      '/api/v1/backfill',
      { instrument_token: token },
      key ? { 'x-api-key': key } : {},
    );
    if (status === 401) {
      forgetApiKey();
      this.result.textContent = 'API key refused; click again to enter it';
      return;
    }
    if (key) keepApiKey(key);
    if (status !== 202) {
      this.result.textContent = `refused: ${body.message ?? status}`;
      return;
    }
    const accepted = /** @type {BackfillAccepted} */ (body);
    this.result.textContent =
      accepted.job_ids.length > 0
        ? `queued ${accepted.job_ids.length} job(s)`
        : `nothing queued: ${accepted.skipped}`;
    this.result.dataset.jobs = String(accepted.job_ids.length);
    this.onQueued();
  }
}
