/** How far apart retries are: `baseMs` doubling per attempt, never above `maxMs`. */
export interface BackoffSchedule {
  baseMs: number;
  maxMs: number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `baseMs * 2^attempt`, at most
 * `maxMs`. With `random`, full jitter over the upper half, so that replicas which failed together do
 * not all come back in the same instant.
 */
export function backoff(schedule: BackoffSchedule, attempt: number, random?: () => number): number {
  // 2^30 ms is already 12 days: beyond it the exponent only risks Infinity.
  const ceiling = Math.min(schedule.maxMs, schedule.baseMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return random === undefined ? ceiling : Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `work` until it succeeds or `signal` aborts, waiting `backoff(schedule, n)` after the n-th
 * failure (0 first). `onFirstFailure` hears of the first failure only, so that a dependency that is
 * down says so once rather than at every try.
 */
export async function retryUntilDone(
  work: () => Promise<void>,
  schedule: BackoffSchedule,
  signal: AbortSignal,
  onFirstFailure: (error: Error) => void,
): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await work();
      return;
    } catch (error) {
      if (attempt === 0) onFirstFailure(error as Error);
      await new Promise((resolve) => setTimeout(resolve, backoff(schedule, attempt)).unref());
    }
  }
}
