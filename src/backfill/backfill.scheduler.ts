import { InjectQueue } from '@nestjs/bullmq';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InFlight } from '../common/in-flight';
import { backoff } from '../common/backoff';
import { isConnectionError } from '../common/dependency-errors';
import { hasTimeout, startInterval, startTimeout, stopTimer } from '../common/named-timers';
import { withTimeout } from '../common/with-timeout';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { CLOCK, Clock, DAY_MS, istDateOf } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { BACKFILL_QUEUE, BackfillJobData } from './backfill.constants';
import { BackfillJobsRepository } from './backfill-jobs.repository';
import { SweepCandidatesService } from './sweep-candidates.service';
import { OVER_BUDGET } from './backfill.requests';
import { BackfillService } from './backfill.service';
import { RunsPeriodically } from './periodic-jobs';

export interface CycleResult {
  /** False only on a replica shutting down (`reason` says so). */
  ran: boolean;
  reason?: string;
  /** Requests the upstream can serve before the next cycle, minus what is already waiting. */
  budget: number;
  instrumentsExamined: number;
  jobsEnqueued: number;
  /** Job records deleted after BACKFILL_JOB_RETENTION_DAYS. */
  recordsPruned?: number;
}

/** Names of this provider's timers in the SchedulerRegistry. */
export const QUEUE_DEPTH_TIMER = 'backfill:queue-depth';
export const QUEUE_RECONCILE_TIMER = 'backfill:queue-reconcile';
const QUEUE_DEPTH_PERIOD_MS = 15_000;
const CYCLE_SHUTDOWN_WAIT_MS = 5000;
/** Instruments requested per batch in a cycle: the budget usually ends the cycle within a batch or two. */
const REQUEST_CHUNK = 200;
/** Finished job records deleted per cycle at most: one bounded DELETE, the rest go next cycle. */
const PRUNE_BATCH = 5000;
/** Probes after a cycle failed for want of the database or Redis: from 1 s, backing off to 5 s. */
const RETRY_PROBE = { baseMs: 1000, maxMs: 5000 };
const RETRY_PROBE_TIMEOUT_MS = 5000;

/** A cycle that could not reach the database or Redis: it runs again once both answer. */
class CycleDependencyError extends Error {
  constructor(override readonly cause: unknown) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'CycleDependencyError';
  }
}

/**
 * After a boot or a Redis reconnect the job records are compared with the queue once this has
 * passed: records written just before are then old enough to be judged (their jobs reached the
 * queue or their requests gave up), and the queue's own connection is back too.
 */
const QUEUE_RECONCILE_DELAY_MS = 16_000;

/**
 * The periodic gap fill: the `backfill-cycle` periodic job (periodic-jobs.ts), a BullMQ job scheduler
 * on the backfill queue, so one replica runs each period's cycle. The cycle only fans out: it hands
 * the instruments, stalest first, to the same `request` as every other trigger, with the cycle's
 * budget. Each replica also samples the queue depth and compares its job records with the queue.
 */
@Injectable()
export class BackfillScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackfillScheduler.name);
  private redisLost = false;
  /** Cycles under way on this replica, for the wait at shutdown. */
  private readonly running = new InFlight();
  private stopped = false;

  constructor(
    private readonly repository: BackfillJobsRepository,
    private readonly database: DatabaseService,
    private readonly candidates: SweepCandidatesService,
    private readonly service: BackfillService,
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly metrics: MetricsService,
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly timers: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    startInterval(this.timers, QUEUE_DEPTH_TIMER, QUEUE_DEPTH_PERIOD_MS, () => {
      this.pendingJobs().catch(() => undefined);
    });
    // A Redis that comes back may have come back empty (restarted without persistence, flushed):
    // the jobs of records still queued are then gone, and nothing else would bring them back.
    this.redis.on('close', () => (this.redisLost = true));
    this.redis.on('ready', () => {
      if (!this.redisLost) return;
      this.redisLost = false;
      this.scheduleQueueReconcile();
    });
    this.scheduleQueueReconcile();
  }

  private scheduleQueueReconcile(): void {
    if (this.stopped || hasTimeout(this.timers, QUEUE_RECONCILE_TIMER)) return;
    startTimeout(this.timers, QUEUE_RECONCILE_TIMER, QUEUE_RECONCILE_DELAY_MS, () => {
      this.reconcileQueue().catch(() => undefined);
    });
  }

  private async reconcileQueue(): Promise<void> {
    try {
      await this.service.reconcileWithQueue();
    } catch (error) {
      this.logger.warn(`comparing job records with the queue failed: ${(error as Error).message}`);
    }
  }

  /** No new cycle; a cycle under way finishes its enqueueing (bounded) before connections close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    stopTimer(this.timers, QUEUE_DEPTH_TIMER);
    stopTimer(this.timers, QUEUE_RECONCILE_TIMER);
    await this.running.settledWithin(CYCLE_SHUTDOWN_WAIT_MS);
  }

  /**
   * Jobs waiting (in any waiting state); refreshes the `backfill_queue_depth` gauge on the way. The
   * next runs of the periodic jobs wait in the queue as delayed jobs: they are not backfill work and
   * are left out.
   */
  private async pendingJobs(): Promise<number> {
    const [counts, schedulers] = await Promise.all([
      this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'paused', 'active', 'failed'),
      this.queue.getJobSchedulers(),
    ]);
    const now = Date.now();
    const periodicDelayed = schedulers.filter((s) => s.next !== undefined && s.next > now).length;
    counts.delayed = Math.max(0, counts.delayed - periodicDelayed);
    for (const [state, count] of Object.entries(counts))
      this.metrics.backfillQueueDepth.set({ state }, count);
    return counts.waiting + counts.prioritized + counts.delayed + counts.paused;
  }

  /** One cycle, now (the period's job, or a caller that wants one). */
  runCycle(): Promise<CycleResult> {
    if (this.stopped)
      return Promise.resolve({
        ran: false,
        reason: 'shutting down',
        budget: 0,
        instrumentsExamined: 0,
        jobsEnqueued: 0,
      });
    return this.running.track(this.cycle());
  }

  /**
   * The period's cycle. One that fails because the database or Redis cannot be reached is not left
   * to the next period (its instruments' newest minutes would wait that long): the job waits for
   * both to answer and runs the cycle again.
   */
  @RunsPeriodically('backfill-cycle')
  async scheduledCycle(): Promise<void> {
    try {
      await this.runCycle();
    } catch (error) {
      if (!(error instanceof CycleDependencyError)) {
        this.logger.error(`backfill cycle failed: ${(error as Error).message}`);
        return;
      }
      this.logger.warn(
        `backfill cycle failed: ${error.message}; it runs again as soon as the database and Redis answer`,
      );
      await this.retryWhenBack();
    }
  }

  private async retryWhenBack(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, backoff(RETRY_PROBE, attempt)).unref());
      if (this.stopped || !(await this.dependenciesAnswer())) continue;
      try {
        const result = await this.runCycle();
        if (result.ran) this.logger.log('backfill cycle ran again after its dependencies came back');
        return;
      } catch (error) {
        if (!(error instanceof CycleDependencyError)) {
          this.logger.error(`backfill cycle failed: ${(error as Error).message}`);
          return;
        }
      }
    }
  }

  private async dependenciesAnswer(): Promise<boolean> {
    try {
      await withTimeout(
        Promise.all([this.database.ping(RETRY_PROBE_TIMEOUT_MS), this.redis.ping()]),
        RETRY_PROBE_TIMEOUT_MS,
        'backfill cycle probe',
      );
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes finished job records past their retention, one bounded batch per cycle. */
  private async prune(now: Date): Promise<number> {
    const before = new Date(now.getTime() - this.config.BACKFILL_JOB_RETENTION_DAYS * DAY_MS);
    try {
      const pruned = await this.repository.pruneFinished(before, PRUNE_BATCH);
      if (pruned > 0) {
        this.metrics.backfillJobsPruned.inc(pruned);
        this.logger.log(
          `backfill cycle: ${pruned} job records finished before ${before.toISOString()} deleted`,
        );
      }
      return pruned;
    } catch (error) {
      this.logger.warn(`pruning job records failed: ${(error as Error).message}`);
      return 0;
    }
  }

  private async cycle(): Promise<CycleResult> {
    try {
      return await this.cycleOnce();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      throw new CycleDependencyError(error);
    }
  }

  private async cycleOnce(): Promise<CycleResult> {
    // Before anything is planned: a record that says queued while its job is gone keeps its
    // instrument out of the cycle, and the queue would never run it.
    await this.reconcileQueue();
    const pending = await this.pendingJobs();
    const capacity = Math.floor(
      this.config.BACKFILL_RATE_LIMIT_PER_SECOND * this.config.BACKFILL_INTERVAL_SECONDS,
    );
    let budget = capacity - pending;
    const result: CycleResult = {
      ran: true,
      budget: Math.max(0, budget),
      instrumentsExamined: 0,
      jobsEnqueued: 0,
    };
    if (budget <= 0) {
      this.logger.warn(
        `backfill cycle: ${pending} jobs still pending, over this cycle's ${capacity}; nothing added`,
      );
      result.recordsPruned = await this.prune(this.clock.now());
      return result;
    }

    const now = this.clock.now();
    result.recordsPruned = await this.prune(now);
    // Contracts that expired before today (IST) are never asked for again: the upstream has nothing
    // new for them, and Kite answers them with errors.
    const tokens = await this.candidates.byStaleness(
      this.config.BACKFILL_SUBSCRIPTION_AWARE,
      now,
      istDateOf(now),
    );
    for (let start = 0; start < tokens.length && budget > 0; start += REQUEST_CHUNK) {
      const chunk = tokens.slice(start, start + REQUEST_CHUNK);
      try {
        const results = await this.service.request(
          chunk.map((instrumentToken) => ({ instrumentToken, trigger: 'sweep', requestedAt: now })),
          { maxJobs: budget },
        );
        for (const outcome of results) {
          if (outcome.skipped === OVER_BUDGET) break;
          result.instrumentsExamined++;
          budget -= outcome.jobIds.length;
          result.jobsEnqueued += outcome.jobIds.length;
        }
      } catch (error) {
        // Without the database or Redis the rest would fail too: the whole cycle runs again.
        if (isConnectionError(error)) throw error;
        this.logger.warn(
          `backfill cycle: instruments ${chunk[0]}..${chunk[chunk.length - 1]} skipped: ${(error as Error).message}`,
        );
      }
    }
    this.logger.log(
      `backfill cycle: ${result.jobsEnqueued} jobs for ${result.instrumentsExamined} of ${tokens.length} instruments (budget ${result.budget})`,
    );
    return result;
  }
}
