/**
 * Sliding-window slot reservation: at most `ratePerSec` requests start in any one-second window.
 * A request reserves the earliest free start and waits for it; reservations are made in arrival
 * order, so waiting requests are served first come, first served.
 */
export class SlotLimiter {
  private starts: number[] = [];

  constructor(private ratePerSec: number) {}

  setRate(ratePerSec: number): void {
    this.ratePerSec = ratePerSec;
  }

  /**
   * Reserves a start at or after `nowMs` and returns the wait in ms, or undefined (nothing reserved)
   * when the wait would exceed `maxWaitMs`.
   */
  reserve(nowMs: number, maxWaitMs: number): number | undefined {
    if (this.ratePerSec <= 0) return 0;
    // Fractional rates (0.5/s) become one slot per 2 s.
    const slots = Math.max(1, Math.floor(this.ratePerSec));
    const windowMs = (slots * 1000) / this.ratePerSec;
    while (this.starts.length > 0 && this.starts[0] <= nowMs - windowMs) this.starts.shift();
    const start =
      this.starts.length < slots
        ? nowMs
        : Math.max(nowMs, this.starts[this.starts.length - slots] + windowMs);
    const wait = start - nowMs;
    if (wait > maxWaitMs) return undefined;
    this.starts.push(start);
    return wait;
  }

  reset(): void {
    this.starts = [];
  }
}

/** At most `limit` requests in any sliding window; the ticker answers 429 beyond it (no waiting). */
export class WindowCounter {
  private times: number[] = [];

  constructor(private readonly windowMs: number) {}

  /** Records a request and returns 0, or returns the ms until one frees up (recording nothing). */
  take(nowMs: number, limit: number): number {
    if (limit <= 0) return 0;
    while (this.times.length > 0 && this.times[0] <= nowMs - this.windowMs) this.times.shift();
    if (this.times.length >= limit) return this.times[0] + this.windowMs - nowMs;
    this.times.push(nowMs);
    return 0;
  }

  reset(): void {
    this.times = [];
  }
}
