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
