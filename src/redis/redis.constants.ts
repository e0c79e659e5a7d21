export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Reconnect forever, backing off to at most 2 s: Redis restarts are survived, never given up on. */
export function reconnectForever(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 6), 2000);
}
