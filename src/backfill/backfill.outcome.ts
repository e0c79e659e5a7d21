import { Dependency } from '../common/dependency-errors';

/** Why a job went back to the queue without using an attempt. */
export type DeferCause = Dependency | 'circuit' | 'credentials' | 'upstream' | 'shutdown';

/**
 * How one run of a backfill job ended. The job returns it; the processor turns it into what BullMQ
 * understands, and only the unexpected is thrown.
 *
 * - `done`: the answer is committed with its coverage and its record.
 * - `skipped`: nothing to ask (an instrument the upstream does not serve); the record says why.
 * - `retry`: a failure of the job's own; the attempt is spent and BullMQ retries with the failure
 *   policy's backoff (after the last attempt the record already says `failed`).
 * - `failed`: asking again would get the same answer; failed now, without retry.
 * - `deferred`: nobody's fault in particular (the database, the upstream failing for everybody, an
 *   open circuit, refused credentials, shutdown): back to the queue after `delayMs` without using an
 *   attempt, or to the waiting list at once when there is no delay.
 */
export type BackfillOutcome =
  | { status: 'done' }
  | { status: 'skipped'; reason: string }
  | { status: 'retry'; error: Error }
  | { status: 'failed'; reason: string }
  | { status: 'deferred'; cause: DeferCause; reason: string; delayMs?: number };
