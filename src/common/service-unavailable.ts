import { ServiceUnavailableException } from '@nestjs/common';
import { Dependency, DependencyUnavailableError, isConnectionError } from './dependency-errors';

/** Retry-After of a read refused by admission control (at least): a slot frees within milliseconds. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 1;
/** Retry-After while PostgreSQL or Redis is unreachable: the pools and the queue reconnect on their own. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** Why a request was answered 503: too many reads in flight, or a dependency that is down. */
export type UnavailableCause = 'overload' | Dependency;

const WHAT: Record<Dependency, string> = {
  database: 'database unavailable',
  redis: 'backfill queue unavailable (Redis)',
};

/**
 * A 503 with `Retry-After`: `{"statusCode":503,"error":"Service Unavailable","message":...}` on the
 * REST routes, `{"s":"error","errmsg":...}` on the UDF datafeed, the header on both.
 */
export class ServiceUnavailableError extends ServiceUnavailableException {
  constructor(
    message: string,
    readonly reason: UnavailableCause,
    readonly retryAfterSeconds: number,
  ) {
    super({ statusCode: 503, error: 'Service Unavailable', message });
  }
}

/**
 * The 503 an error stands for, if any: a refusal already made, a dependency named as unavailable, or
 * a failure the shared classifier reads as a lost or refused connection. On the HTTP paths only the
 * backfill queue touches Redis, and it names itself; every other connection failure is PostgreSQL's.
 */
export function unavailableOf(error: unknown): ServiceUnavailableError | undefined {
  if (error instanceof ServiceUnavailableError) return error;
  const dependency: Dependency | undefined =
    error instanceof DependencyUnavailableError
      ? error.dependency
      : isConnectionError(error)
        ? 'database'
        : undefined;
  return dependency
    ? new ServiceUnavailableError(WHAT[dependency], dependency, DEPENDENCY_RETRY_AFTER_SECONDS)
    : undefined;
}
