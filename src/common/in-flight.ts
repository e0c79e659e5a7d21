import { settledWithin } from './with-timeout';

/**
 * Work under way that a shutdown (or a test) waits for: each promise is held until it settles,
 * whether it resolves or rejects, and is then forgotten.
 */
export class InFlight {
  private readonly pending = new Set<Promise<void>>();

  get size(): number {
    return this.pending.size;
  }

  /** Holds `work` until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    // Forgotten in the first reaction to its settling, before any caller awaiting `work` resumes.
    const forget = (): void => void this.pending.delete(settled);
    const settled: Promise<void> = work.then(forget, forget);
    this.pending.add(settled);
    return work;
  }

  /** Settles (never rejects) once everything under way now has settled. */
  settled(): Promise<void> {
    return Promise.all([...this.pending]).then(() => undefined);
  }

  /** Waits for everything under way now, at most `timeoutMs`; true when it all settled in time. */
  settledWithin(timeoutMs: number): Promise<boolean> {
    return this.pending.size === 0 ? Promise.resolve(true) : settledWithin(this.settled(), timeoutMs);
  }
}
