import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Dependency } from '../common/dependency-errors';
import { CLOCK, Clock } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { DeferCause } from './backfill.outcome';
import { BackfillJobState, BackfillJobsRepository, NewJobRecord } from './backfill-jobs.repository';
import { BACKFILL_TRIGGER_TABLE, BackfillTrigger } from './backfill.requests';
import { CircuitState } from './circuit-breaker';

/** What a finished run wrote, for its record and its metrics. */
export interface RunResult {
  state: BackfillJobState;
  rowsWritten?: number;
  error?: string | null;
  durationMs?: number | null;
  timeToDataMs?: number | null;
  attempts?: number;
  /** Now, unless the run's figures were taken at another instant. */
  finishedAt?: Date;
}

/**
 * The one place that writes what became of a backfill job: its `backfill_jobs` record and the
 * backfill's metrics. The job, the failure policy, the gate and the worker report here, so a record
 * and its counters never tell different stories.
 */
@Injectable()
export class BackfillRecorder {
  constructor(
    private readonly repository: BackfillJobsRepository,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The run has started (attempt `attempt`); a record the request never wrote is created. */
  running(record: NewJobRecord, attempt: number): Promise<void> {
    return this.repository.markRunning(record, attempt, this.clock.now());
  }

  /** Final state of a run; inside the caller's transaction when candles were written with it. */
  finish(record: NewJobRecord, result: RunResult, manager?: EntityManager): Promise<void> {
    return this.repository.finishJob(
      record.id,
      { ...result, finishedAt: result.finishedAt ?? this.clock.now() },
      manager,
    );
  }

  /**
   * The run failed or was put back and the job will run again: the record says why and stays queued.
   * Best effort: the queue, not the record, decides when it runs.
   */
  async retrying(record: NewJobRecord, attempts: number, error: string): Promise<void> {
    await this.repository.recordRetry(record.id, attempts, error).catch(() => undefined);
  }

  /** How the run ended, counted by trigger. */
  ended(trigger: BackfillTrigger, outcome: 'succeeded' | 'failed' | 'skipped'): void {
    this.metrics.backfillTriggers.inc({ trigger, outcome });
  }

  /** A job that ended skipped before asking the upstream, by why (unsubscribed, unsupported). */
  skipped(cause: 'unsubscribed' | 'unsupported'): void {
    this.metrics.backfillSkipped.inc({ reason: cause });
  }

  /** A committed answer: candles changed, duration, and time to data where someone waits for it. */
  committed(record: NewJobRecord, written: number, seconds: number): void {
    const timeToData = Math.max(0, this.clock.now().getTime() - record.requestedAt.getTime()) / 1000;
    // Only where someone waits for the data: a new subscription may reach us as an event or through a
    // reconciliation (whichever asks first owns the job); a sweep or a stream gap has no arrival to time.
    if (BACKFILL_TRIGGER_TABLE[record.trigger]?.timeToData)
      this.metrics.backfillTimeToData.observe(timeToData);
    this.metrics.backfillJobDuration.observe({ trigger: record.trigger }, seconds);
    this.metrics.backfillCandlesWritten.inc(written);
    this.ended(record.trigger, 'succeeded');
  }

  candlesWritten(rows: number): void {
    this.metrics.backfillCandlesWritten.inc(rows);
  }

  upstreamRequest(provider: string, result: string): void {
    this.metrics.backfillUpstreamRequests.inc({ provider, result });
  }

  windowMismatch(provider: string, direction: 'earlier' | 'later' | 'both'): void {
    this.metrics.backfillWindowMismatch.inc({ provider, direction });
  }

  deferred(cause: DeferCause): void {
    this.metrics.backfillDeferred.inc({ cause });
  }

  circuit(state: CircuitState): void {
    this.metrics.backfillCircuitOpen.set(state === 'closed' ? 0 : 1);
  }

  dependencyDown(dependency: Dependency): void {
    this.metrics.backfillDependencyDown.set({ dependency }, 1);
  }

  dependencyBack(dependency: Dependency, seconds: number): void {
    this.metrics.backfillDependencyDown.set({ dependency }, 0);
    this.metrics.backfillDependencyDownSeconds.inc({ dependency }, seconds);
  }
}
