import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { DependencyUnavailableError, isConnectionError } from '../common/dependency-errors';
import { withTimeout } from '../common/with-timeout';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { CLOCK, Clock, floorToMinute, MINUTE_MS } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { TimeRange } from './backfill-gaps';
import {
  BACKFILL_QUEUE,
  BackfillJobData,
  backfillJobId,
  MAX_WINDOW_MS,
  splitWindow,
} from './backfill.constants';
import { BackfillPlanner } from './backfill.planner';
import { BackfillJobsRepository, NewJobRecord } from './backfill-jobs.repository';
import { isUnsupportedAt, UnsupportedInstrumentsRepository } from './unsupported-instruments.repository';
import {
  BACKFILL_TRIGGER_TABLE,
  BackfillBatchOptions,
  BackfillRequest,
  BackfillRequester,
  BackfillRequestResult,
  OVER_BUDGET,
} from './backfill.requests';

/** Failed jobs stay in the queue this long for inspection (their records stay in the database). */
const FAILED_RETENTION_SECONDS = 7 * 86_400;
/** Completed jobs stay a minute so that a repeat of the same request in that time collapses into them. */
const COMPLETED_RETENTION_SECONDS = 60;
/** Requests planned together at most (the ANY() arrays stay small, one addBulk stays quick). */
const MAX_BATCH = 1000;
const ENQUEUE_TIMEOUT_MS = 10_000;
/** A record this long unchanged must have its job in the queue (its request has reached the queue or given up). */
const RECORD_QUIET_SECONDS = ENQUEUE_TIMEOUT_MS / 1000 + 5;
/** Records compared with the queue per pass. */
const RECONCILE_BATCH = 2000;
/** Queue calls in flight at once when many jobs are looked up or removed by id. */
const QUEUE_CALLS_IN_FLIGHT = 200;
/** Jobs in these states absorb a new request for their window. */
const LIVE_STATES = new Set(['active', 'waiting', 'prioritized', 'delayed', 'paused', 'waiting-children']);

export interface QueueReconciliation {
  /** Records examined. */
  examined: number;
  /** Records whose job was gone (a Redis flush or restart): their jobs were added again. */
  requeued: number;
  /** Records whose job the queue had failed without the record saying so: now `failed`. */
  failed: number;
}

/** The backfill's entry point: every trigger enqueues its jobs through `request`, a batch at a time. */
@Injectable()
export class BackfillService implements BackfillRequester {
  private readonly logger = new Logger(BackfillService.name);

  constructor(
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    private readonly planner: BackfillPlanner,
    private readonly repository: BackfillJobsRepository,
    private readonly unsupportedInstruments: UnsupportedInstrumentsRepository,
    private readonly metrics: MetricsService,
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async request(
    requests: readonly BackfillRequest[],
    options: BackfillBatchOptions = {},
  ): Promise<BackfillRequestResult[]> {
    const queueWaitMs = options.queueWaitMs ?? ENQUEUE_TIMEOUT_MS;
    // A caller that cannot wait (an HTTP request) is refused before anything is planned or recorded
    // while the queue's connection is down: the queue would hold its commands until Redis is back.
    // The other triggers wait the usual bound, long enough for a reconnect that is under way.
    if (options.queueWaitMs !== undefined && !(await this.queueReachable(queueWaitMs)))
      throw new DependencyUnavailableError('redis', new Error('the backfill queue connection is down'));
    const results: BackfillRequestResult[] = [];
    let budget = options.maxJobs ?? Number.POSITIVE_INFINITY;
    for (let start = 0; start < requests.length; start += MAX_BATCH) {
      const chunk = await this.requestChunk(requests.slice(start, start + MAX_BATCH), budget, queueWaitMs);
      for (const result of chunk) budget -= result.jobIds.length;
      results.push(...chunk);
    }
    return results;
  }

  /**
   * Plans a chunk with three set-based reads (unsupported marks, coverage and stored minutes of every
   * planned token), writes its job records in one statement and adds its jobs in one `addBulk`.
   */
  private async requestChunk(
    requests: readonly BackfillRequest[],
    maxJobs: number,
    queueWaitMs: number,
  ): Promise<BackfillRequestResult[]> {
    const now = this.clock.now();
    const tokens = [...new Set(requests.map((request) => request.instrumentToken))];
    const toPlan = [...new Set(requests.filter((r) => !r.from && !r.to).map((r) => r.instrumentToken))];
    const [unsupported, plans] = await Promise.all([
      this.unsupportedInstruments.find(tokens),
      this.planner.planMany(toPlan),
    ]);
    const records: NewJobRecord[] = [];
    const explicit = new Set<string>();
    let budget = maxJobs;
    const results = requests.map((request): BackfillRequestResult => {
      const mark = unsupported.get(request.instrumentToken);
      if (mark && isUnsupportedAt(mark, now)) {
        this.metrics.backfillTriggers.inc({ trigger: request.trigger, outcome: 'skipped' });
        return {
          jobIds: [],
          skipped: `unsupported upstream until ${new Date(mark.expires_at).toISOString()}`,
        };
      }
      if (budget <= 0) return { jobIds: [], skipped: OVER_BUDGET };
      const windows = (
        !request.from && !request.to
          ? (plans.get(request.instrumentToken)?.windows ?? [])
          : this.explicitWindows(request, now)
      ).slice(0, budget);
      if (windows.length === 0) {
        this.metrics.backfillTriggers.inc({ trigger: request.trigger, outcome: 'skipped' });
        return { jobIds: [], skipped: 'nothing missing' };
      }
      budget -= windows.length;
      const own = this.records(request.instrumentToken, request, windows);
      records.push(...own);
      if (request.from || request.to) for (const record of own) explicit.add(record.id);
      return { jobIds: own.map((record) => record.id) };
    });
    await this.write(records, explicit, queueWaitMs);
    return results;
  }

  private records(token: number, request: BackfillRequest, windows: readonly TimeRange[]): NewJobRecord[] {
    return windows.map((window) => ({
      id: backfillJobId(token, window.from, window.to),
      instrumentToken: token,
      trigger: request.trigger,
      from: window.from,
      to: window.to,
      requestedAt: request.requestedAt,
    }));
  }

  /**
   * Enqueues `records` (one job each). Ids are deterministic, so a job still queued or running
   * absorbs a repeat of its request, from this replica or another. A job that has ended does not:
   * a failed one (its window still missing) is removed and runs again, as is a completed one when
   * the window was asked for explicitly (`explicit`); a planned window that a job completed less
   * than a minute ago was planned before that job committed, and collapses into it.
   */
  private async write(
    batch: readonly NewJobRecord[],
    explicit: ReadonlySet<string>,
    queueWaitMs: number,
  ): Promise<void> {
    if (batch.length === 0) return;
    // The same window asked for twice in a batch is one job and one record (the first request's).
    const unique = new Map<string, NewJobRecord>();
    for (const record of batch) if (!unique.has(record.id)) unique.set(record.id, record);
    const records = [...unique.values()];
    // The record first: a worker may pick the job up before `addBulk` returns.
    const created = await this.repository.insertQueued(records);
    // Only a window that already had a record can have had a job (records are written before their
    // jobs and outlive them), so a burst of new subscriptions asks the queue nothing here.
    const fresh = new Set(created);
    const known = records.filter((record) => !fresh.has(record.id));
    let restarted: string[] = [];
    try {
      if (known.length > 0) restarted = await this.restartEnded(known, explicit, queueWaitMs);
      await queueCall(this.add(records), queueWaitMs);
    } catch (error) {
      // Records of jobs that never reached the queue would keep their instruments out of the cycle.
      // Jobs added late still run; their records are recreated when they start.
      await this.repository.deleteUnstarted([...created, ...restarted]).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Whether the queue's Redis connection is up now (its state, no round trip); a connection still
   * being made at boot is waited for up to `waitMs`. For requests and readiness.
   */
  async queueReachable(waitMs = ENQUEUE_TIMEOUT_MS): Promise<boolean> {
    try {
      const client = await withTimeout(this.queue.client, waitMs, 'backfill queue');
      return client.status === 'ready';
    } catch {
      return false;
    }
  }

  /**
   * Of windows that have a record, those whose job has ended (and must run again) or is gone: ended
   * jobs are removed from the queue and every such record starts over. Returns their ids.
   */
  private async restartEnded(
    records: readonly NewJobRecord[],
    explicit: ReadonlySet<string>,
    queueWaitMs: number,
  ): Promise<string[]> {
    // Bounded: while Redis is away the queue holds commands until it is back, and a caller (an
    // event being handled, an HTTP request) must not hang on it.
    const states = await queueCall(
      inBatches(records, QUEUE_CALLS_IN_FLIGHT, (record) => this.queue.getJobState(record.id)),
      queueWaitMs,
    );
    const ended: string[] = [];
    const again: NewJobRecord[] = [];
    records.forEach((record, i) => {
      const state = states[i];
      if (LIVE_STATES.has(state) || (state === 'completed' && !explicit.has(record.id))) return;
      if (state !== 'unknown') ended.push(record.id);
      again.push(record);
    });
    if (ended.length > 0) {
      await queueCall(
        inBatches(ended, QUEUE_CALLS_IN_FLIGHT, (id) => this.queue.remove(id)),
        queueWaitMs,
      );
      this.logger.log(`${ended.length} ended jobs requested again: ${ended.slice(0, 5).join(', ')}`);
    }
    return this.repository.restart(again);
  }

  private add(records: readonly NewJobRecord[]): Promise<unknown> {
    return this.queue.addBulk(
      records.map((record) => ({
        name: record.trigger,
        data: {
          instrumentToken: record.instrumentToken,
          trigger: record.trigger,
          from: record.from.toISOString(),
          to: record.to.toISOString(),
          requestedAt: record.requestedAt.toISOString(),
        },
        opts: this.jobOptions(record),
      })),
    );
  }

  /**
   * Puts the records and the queue back in agreement: a record that says `queued` or `running` while
   * its job is gone from Redis (flushed, restarted empty) gets its job again; one whose job the queue
   * failed on its own (stalled too often) is marked `failed`, so that the instrument is planned again.
   */
  async reconcileWithQueue(): Promise<QueueReconciliation> {
    const records = await this.repository.pendingRecords(RECORD_QUIET_SECONDS, RECONCILE_BATCH);
    const result: QueueReconciliation = { examined: records.length, requeued: 0, failed: 0 };
    if (records.length === 0) return result;
    const states = await withTimeout(
      inBatches(records, QUEUE_CALLS_IN_FLIGHT, (record) => this.queue.getJobState(record.id)),
      ENQUEUE_TIMEOUT_MS,
      'backfill queue',
    );
    const lost = records.filter((_, i) => states[i] === 'unknown');
    const failed = records.filter((_, i) => states[i] === 'failed');
    if (lost.length > 0) {
      // The records stay as they are until the job starts: they were queued all along.
      await withTimeout(this.add(lost), ENQUEUE_TIMEOUT_MS, 'backfill queue');
      result.requeued = lost.length;
      this.metrics.backfillRecordsReconciled.inc({ action: 'requeued' }, lost.length);
    }
    for (const record of failed) {
      const job = await this.queue.getJob(record.id);
      await this.repository.finishJob(record.id, {
        state: 'failed',
        error: `failed in the queue: ${job?.failedReason ?? 'unknown reason'}`,
        finishedAt: this.clock.now(),
      });
      this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'failed' });
      result.failed++;
    }
    if (failed.length > 0) this.metrics.backfillRecordsReconciled.inc({ action: 'failed' }, failed.length);
    if (result.requeued + result.failed > 0)
      this.logger.warn(
        `job records disagreed with the queue: ${result.requeued} jobs were gone and were queued again, ${result.failed} had failed in the queue`,
      );
    return result;
  }

  /**
   * Drops the waiting jobs of unsubscribed instruments, found by id from their records: one query
   * and one removal per job, however many jobs other instruments have waiting.
   */
  async cancelPending(instrumentTokens: readonly number[]): Promise<number> {
    const ids = await this.repository.pendingJobIds(instrumentTokens);
    if (ids.length === 0) return 0;
    // `remove` refuses a job a worker holds: that one finishes; stored data is kept either way.
    const removed = await withTimeout(
      inBatches(ids, QUEUE_CALLS_IN_FLIGHT, (id) => this.queue.remove(id)),
      ENQUEUE_TIMEOUT_MS,
      'backfill queue',
    );
    const cancelled = ids.filter((_, i) => removed[i] === 1);
    await this.repository.markCancelled(cancelled, this.clock.now());
    if (cancelled.length > 0)
      this.logger.log(
        `cancelled ${cancelled.length} pending jobs of ${instrumentTokens.length} unsubscribed instruments`,
      );
    return cancelled.length;
  }

  private explicitWindows(request: BackfillRequest, now: Date): TimeRange[] {
    const lookback = this.planner.lookback();
    const end = new Date(floorToMinute(now).getTime() + MINUTE_MS);
    const to = floorToMinute(new Date(Math.min((request.to ?? end).getTime(), end.getTime())));
    const from = floorToMinute(request.from ?? lookback.from);
    if (to.getTime() <= from.getTime()) return [];
    return splitWindow(from, to, MAX_WINDOW_MS);
  }

  private jobOptions(record: NewJobRecord): JobsOptions {
    return {
      jobId: record.id,
      priority: BACKFILL_TRIGGER_TABLE[record.trigger].priority,
      attempts: this.config.BACKFILL_MAX_ATTEMPTS,
      backoff: { type: 'custom' },
      removeOnComplete: { age: COMPLETED_RETENTION_SECONDS, count: 10_000 },
      // Never longer than its record: a window's job can only be found through its record.
      removeOnFail: {
        age: Math.min(FAILED_RETENTION_SECONDS, this.config.BACKFILL_JOB_RETENTION_DAYS * 86_400),
        count: 10_000,
      },
    };
  }
}

/**
 * A queue call bounded by `waitMs`; not answered in time, or failed for want of a connection, it is
 * Redis being unavailable (DependencyUnavailableError), which the HTTP edge answers 503.
 */
async function queueCall<T>(call: Promise<T>, waitMs: number): Promise<T> {
  try {
    return await withTimeout(call, waitMs, 'backfill queue');
  } catch (error) {
    if (isConnectionError(error) || (error as Error).message?.startsWith('backfill queue did not answer'))
      throw new DependencyUnavailableError('redis', error);
    throw error;
  }
}

/** `work` over `items`, at most `size` at a time, results in order. */
async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size)
    results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

/** Answers every request when BACKFILL_ENABLED=false, so callers need no flag of their own. */
@Injectable()
export class DisabledBackfillRequester implements BackfillRequester {
  private readonly logger = new Logger('Backfill');
  private said = false;

  request(requests: readonly BackfillRequest[]): Promise<BackfillRequestResult[]> {
    if (!this.said) this.logger.log('BACKFILL_ENABLED=false: backfill requests are answered and dropped');
    this.said = true;
    return Promise.resolve(requests.map(() => ({ jobIds: [], skipped: 'backfill disabled' })));
  }

  cancelPending(): Promise<number> {
    return Promise.resolve(0);
  }
}
