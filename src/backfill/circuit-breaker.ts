export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Stops hammering a dead upstream: after `threshold` transient failures in a row the circuit opens
 * for `cooldownMs`; then one trial request is let through (half-open), and its result closes or
 * reopens the circuit. Real elapsed time, not the market clock: this is about the upstream's health.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt?: number;
  private trialInFlight = false;

  constructor(
    private readonly threshold = 5,
    private readonly cooldownMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Milliseconds until a trial request may go (0 when a request may go now). */
  waitMs(): number {
    const state = this.state;
    if (state === 'closed') return 0;
    if (state === 'half-open') return this.trialInFlight ? 1000 : 0;
    return this.cooldownMs - (this.now() - (this.openedAt ?? 0));
  }

  /** Claims the right to send a request; false while open (or while the half-open trial runs). */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failed(): void {
    this.failures++;
    if (this.trialInFlight || this.failures >= this.threshold) this.openedAt = this.now();
    this.trialInFlight = false;
  }

  /** A request that ended without telling anything about the upstream (aborted at shutdown). */
  released(): void {
    this.trialInFlight = false;
  }
}
