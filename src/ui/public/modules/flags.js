// The service's effective flags (GET /api/v1/config/flags), read once: they change only with a restart.

import { getJson } from './api.js';

/** @typedef {import('./api.js').ConfigFlags} ConfigFlags */

export class Flags {
  /** @type {ConfigFlags | null} */
  value = null;

  /** Reads the flags until one read succeeds. */
  async refresh() {
    this.value ??= /** @type {ConfigFlags} */ (await getJson('/api/v1/config/flags'));
  }

  /** Whether the backfill runs (unknown counts as yes: the queue panel says what the service says). */
  get backfillMaybeEnabled() {
    return this.value?.flags.backfill_enabled !== false;
  }

  /** Whether the backfill runs, known for sure (the button stays off until then). */
  get backfillEnabled() {
    return this.value?.flags.backfill_enabled === true;
  }

  get apiKeyRequired() {
    return this.value?.settings.api_key_required === true;
  }
}
