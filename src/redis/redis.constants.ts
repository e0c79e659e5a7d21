import { backoff } from '../common/backoff';

export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

/** Reconnect forever, backing off to at most 2 s: Redis restarts are survived, never given up on. */
export function reconnectForever(times: number): number {
  return backoff({ baseMs: 50, maxMs: 2000 }, times);
}
