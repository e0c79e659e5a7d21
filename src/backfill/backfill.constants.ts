import { BackfillTrigger } from './backfill.requests';

export const BACKFILL_QUEUE = 'backfill';

/** Kite serves at most 60 days of minute data per request; one job is one request. */
export const MAX_WINDOW_MS = 60 * 86_400_000;

/** What travels through the queue; instants as ISO text. */
export interface BackfillJobData {
  instrumentToken: number;
  trigger: BackfillTrigger;
  from: string;
  to: string;
  requestedAt: string;
}

/**
 * The id depends only on the instrument and the window, so the same request from three replicas (or
 * twice in a second) collapses into one job. BullMQ rejects ':' in custom ids.
 */
export function backfillJobId(instrumentToken: number, from: Date, to: Date): string {
  return `bf-${instrumentToken}-${from.getTime()}-${to.getTime()}`;
}

/** Splits `[from, to)` into windows of at most 60 days, oldest first. */
export function splitWindow(from: Date, to: Date, maxMs = MAX_WINDOW_MS): { from: Date; to: Date }[] {
  const windows: { from: Date; to: Date }[] = [];
  for (let start = from.getTime(); start < to.getTime(); start += maxMs) {
    windows.push({ from: new Date(start), to: new Date(Math.min(start + maxMs, to.getTime())) });
  }
  return windows;
}

/** ioredis options from a redis:// URL. */
export function redisOptionsFromUrl(redisUrl: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
} {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username || undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * The connection options of the queue's own connections (the Queue, the Worker and their blocking
 * clients): BullMQ needs `maxRetriesPerRequest: null`, so that a command waits out a Redis restart
 * instead of failing the worker's loop.
 */
export function queueConnection(redisUrl: string): ReturnType<typeof redisOptionsFromUrl> & {
  maxRetriesPerRequest: null;
} {
  return { ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null };
}
