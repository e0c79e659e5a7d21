import { Injectable } from '@nestjs/common';
import { backoff } from '../common/backoff';
import {
  DependencyUnavailableError,
  isConnectionError,
  isStatementTimeout,
} from '../common/dependency-errors';
import { BackfillRecorder } from './backfill.recorder';
import { DatabaseService } from '../database/database.service';
import { CircuitBreaker } from './circuit-breaker';
import { HistoryError, HistoryErrorKind } from './history-provider';
import { UpstreamHealth } from './upstream-health';

/** Retries of a job's own failures: from 1 s doubling to 60 s, with jitter. */
const RETRY_BACKOFF = { baseMs: 1000, maxMs: 60_000 };
/** A job that met an unreachable database is looked at again after about this long. */
const DEPENDENCY_RETRY_MS = 2000;
/** For this long after it was queued, a job's failures while the upstream fails for others too are free. */
const STORM_GRACE_MS = 30 * 60_000;
const PROBE_TIMEOUT_MS = 5000;

/**
 * Exponential backoff with full jitter, never sooner than the upstream's Retry-After. Replicas that
 * failed together must not all come back in the same instant.
 */
export function backoffDelay(
  attemptsMade: number,
  error?: Error,
  random: () => number = Math.random,
): number {
  const jittered = backoff(RETRY_BACKOFF, attemptsMade - 1, random);
  const retryAfter = error instanceof HistoryError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, retryAfter);
}

/** The class of a failed upstream request; an error the provider did not class is transient. */
export function failureKind(error: Error): HistoryErrorKind {
  return error instanceof HistoryError ? error.kind : 'transient';
}

/**
 * What a failed upstream request means for its job:
 * - `unsupported`: the upstream does not serve the instrument; the job is skipped and the instrument parked.
 * - `credentials`: the upstream refused our credentials; the queue is held until a restart.
 * - `invalid`: asking again would get the same answer; the job fails without retry.
 * - `storm`: the upstream fails for other instruments too; retried without using an attempt.
 * - `own`: the job's own failure; it uses an attempt.
 */
export type FetchFailureMeaning = 'unsupported' | 'credentials' | 'invalid' | 'storm' | 'own';

/**
 * The failure policy of the backfill: whose fault a failure is (the job's, which spends an attempt,
 * or a dependency's, which does not), how long a job waits before it is tried again, the circuit
 * breaker in front of the upstream and the detection of failure storms.
 */
@Injectable()
export class BackfillFailurePolicy {
  readonly breaker = new CircuitBreaker();
  readonly upstream = new UpstreamHealth();

  constructor(
    private readonly databaseService: DatabaseService,
    private readonly recorder: BackfillRecorder,
  ) {}

  /** Claims the right to ask the upstream; the milliseconds to wait when the circuit refuses. */
  admitUpstream(): number | undefined {
    if (!this.breaker.tryAcquire()) return this.breaker.waitMs();
    this.recorder.circuit(this.breaker.state);
    return undefined;
  }

  /** The request ended without telling anything about the upstream (not sent, or aborted). */
  released(): void {
    this.breaker.released();
  }

  /** The upstream answered the request for `token` (data, none, or another window). */
  answered(token: number): void {
    this.breaker.succeeded();
    this.recorder.circuit(this.breaker.state);
    this.upstream.record(token, true);
  }

  /**
   * A request for `token`, of a job queued at `queuedAt` (ms), failed (`failureKind`): records it against the
   * upstream's health and the circuit, and says what it means for the job.
   */
  fetchFailed(token: number, kind: HistoryErrorKind, queuedAt: number): FetchFailureMeaning {
    if (kind !== 'auth') this.upstream.record(token, kind !== 'transient');
    switch (kind) {
      case 'unsupported':
      case 'invalid':
        this.breaker.succeeded();
        this.recorder.circuit(this.breaker.state);
        return kind;
      case 'auth':
        this.breaker.released();
        return 'credentials';
      case 'transient':
        this.breaker.failed();
        this.recorder.circuit(this.breaker.state);
        // A storm longer than the grace is an outage: the job's attempts count again, so that a
        // contract that fails alone among others failing (an expired one) still ends.
        return Date.now() - queuedAt < STORM_GRACE_MS && this.upstream.failingForOthers(token)
          ? 'storm'
          : 'own';
    }
  }

  /** The wait of a job deferred for a storm, `deferrals` times so far. */
  stormDelay(deferrals: number, error: Error): number {
    return backoffDelay(Math.max(1, deferrals), error);
  }

  /** The wait of a job put back for an unreachable database: about two seconds, with jitter. */
  dependencyDelay(random: () => number = Math.random): number {
    return DEPENDENCY_RETRY_MS + Math.round(random() * DEPENDENCY_RETRY_MS);
  }

  /**
   * Runs one database step of a job; a connection failure becomes DependencyUnavailableError.
   *
   * A statement cancelled at `statement_timeout` (57014) needs a probe to say whose fault it is. If
   * `SELECT 1` then answers within PROBE_TIMEOUT_MS, the database is serving and this job's statement
   * was slow for a reason of its own (a lock held on its rows, too much to write): the failure is
   * the job's and uses an attempt, so a job that can never finish in time ends `failed` instead of
   * being put back for ever (each time the probe would find the database well and resume the
   * worker). If the probe fails or gets no answer either, the database is unavailable and the job
   * waits like in any outage. A client that got no answer at all (hung server, swallowed bytes) is a
   * connection failure already and needs no probe.
   */
  async database<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isConnectionError(error)) throw new DependencyUnavailableError('database', error);
      if (isStatementTimeout(error) && !(await this.databaseAnswers()))
        throw new DependencyUnavailableError('database', error);
      throw error;
    }
  }

  async databaseAnswers(): Promise<boolean> {
    try {
      await this.databaseService.ping(PROBE_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }
}
