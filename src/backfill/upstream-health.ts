interface Outcome {
  token: number;
  ok: boolean;
  at: number;
}

export interface UpstreamHealthOptions {
  /** Answers for other instruments looked at, newest first. */
  samples: number;
  /** Fewer answers than this say nothing either way. */
  minSamples: number;
  /** Answers older than this are forgotten. */
  maxAgeMs: number;
  /** Share of failed answers from which the upstream, not the instrument, is failing. */
  failureRatio: number;
}

const DEFAULTS: UpstreamHealthOptions = {
  samples: 30,
  minSamples: 8,
  maxAgeMs: 300_000,
  failureRatio: 0.25,
};
const RETAINED = 200;

/**
 * Tells a failing upstream from a failing instrument. The ticker answers 502 for any Kite failure:
 * a storm of them (Kite throttling everybody) hits every instrument alike, while an expired or broken
 * contract fails alone. While a good share of the newest answers for other instruments are failures
 * too, a failure is the upstream's; while the others are answered well, it is the instrument's.
 * Real elapsed time, per replica.
 */
export class UpstreamHealth {
  private readonly outcomes: Outcome[] = [];

  constructor(
    private readonly options: UpstreamHealthOptions = DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {}

  /** One answer of the upstream: `ok` when it served the request (data, none, or 404). */
  record(token: number, ok: boolean): void {
    this.outcomes.push({ token, ok, at: this.now() });
    if (this.outcomes.length > RETAINED) this.outcomes.splice(0, this.outcomes.length - RETAINED);
  }

  /** Whether requests for instruments other than `token` are failing too, right now. */
  failingForOthers(token: number): boolean {
    const since = this.now() - this.options.maxAgeMs;
    let seen = 0;
    let failed = 0;
    for (let i = this.outcomes.length - 1; i >= 0 && seen < this.options.samples; i--) {
      const outcome = this.outcomes[i];
      if (outcome.at < since) break;
      if (outcome.token === token) continue;
      seen++;
      if (!outcome.ok) failed++;
    }
    return seen >= this.options.minSamples && failed / seen >= this.options.failureRatio;
  }
}
