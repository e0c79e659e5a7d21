import { InjectQueue } from '@nestjs/bullmq';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { retryUntilDone } from '../common/backoff';
import { startInterval, stopTimer } from '../common/named-timers';
import { getConfigToken } from '@nestjs/config';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { BACKFILL_QUEUE, BackfillJobData } from './backfill.constants';
import {
  bindPeriodicJobs,
  PERIODIC_JOB_NAMES,
  PeriodicJob,
  PeriodicJobHandler,
  providerInstances,
} from './periodic-jobs';

/** Upserting the schedulers at boot while Redis does not answer: from 250 ms, backing off to 5 s. */
/** The subscription events' settings namespace (subscription-events.config.ts), injected by name. */
const EVENTS_NAMESPACE = 'events';
const UPSERT_RETRY = { baseMs: 250, maxMs: 5000 };
/** Finished periodic jobs are not kept (a failure is logged): the queue's counts are backfill work. */
const TEMPLATE_OPTS = { attempts: 1, removeOnComplete: true, removeOnFail: true };

function logged(logger: Logger, job: PeriodicJob): PeriodicJobHandler {
  return async () => {
    try {
      await job.run();
    } catch (error) {
      logger.error(`periodic job ${job.name} failed: ${(error as Error).message}`);
      throw error;
    }
  };
}

/**
 * The periodic jobs as BullMQ job schedulers on the backfill queue: every replica upserts the same
 * schedulers at boot (an upsert with an unchanged period keeps the next run where it was), and
 * BullMQ puts one job in the queue per period, which the first free worker of any replica takes. The
 * worker hands a periodic job to `handlerFor` before its history path. The first run comes one
 * period after the scheduler is first created (the boot runs of each owner are its own).
 */
@Injectable()
export class PeriodicJobsService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PeriodicJobs');
  private readonly handlers = new Map<string, PeriodicJobHandler>();
  private jobs: PeriodicJob[] = [];
  private readonly stopping = new AbortController();
  private upserting?: Promise<void>;
  private redisLost = false;

  constructor(
    private readonly discovery: DiscoveryService,
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    @Inject(backfillConfig.KEY) private readonly backfill: BackfillConfig,
    @Inject(getConfigToken(EVENTS_NAMESPACE)) private readonly events: { RECONCILE_INTERVAL_SECONDS: number },
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
  ) {}

  /** Fails the boot when an enabled periodic job has no handler, or one has two. */
  onModuleInit(): void {
    this.jobs = bindPeriodicJobs(providerInstances(this.discovery), { ...this.backfill, ...this.events });
    for (const job of this.jobs) this.handlers.set(job.name, logged(this.logger, job));
  }

  onApplicationBootstrap(): void {
    // In the background: boot does not wait for Redis (readiness reports it).
    this.upsertInBackground();
    // The schedulers live in Redis: one that came back empty (restarted without persistence,
    // flushed) would run no periodic job until a replica restarted. Upserting again is harmless.
    this.redis.on('close', () => (this.redisLost = true));
    this.redis.on('ready', () => {
      if (!this.redisLost) return;
      this.redisLost = false;
      this.upsertInBackground();
    });
  }

  private upsertInBackground(): void {
    this.upserting ??= this.upsertWhenReachable().finally(() => (this.upserting = undefined));
  }

  beforeApplicationShutdown(): void {
    this.stopping.abort();
  }

  /** The handler of a periodic job's name; undefined for every other job of the queue. */
  handlerFor(name: string): PeriodicJobHandler | undefined {
    return this.handlers.get(name);
  }

  private async upsertWhenReachable(): Promise<void> {
    await retryUntilDone(
      () => this.upsertAll(),
      UPSERT_RETRY,
      this.stopping.signal,
      (error) => this.logger.warn(`cannot set up the periodic jobs yet: ${error.message}`),
    );
  }

  private async upsertAll(): Promise<void> {
    const enabled = new Set<string>(this.jobs.map((job) => job.name));
    for (const job of this.jobs)
      await this.queue.upsertJobScheduler(
        job.name,
        // startDate counts only when the scheduler is created (or its period changed).
        { every: job.everyMs, startDate: Date.now() + job.everyMs },
        {
          name: job.name,
          data: {} as BackfillJobData,
          opts: job.retry
            ? {
                ...TEMPLATE_OPTS,
                attempts: job.retry.attempts,
                backoff: { type: 'fixed', delay: job.retry.delayMs },
              }
            : TEMPLATE_OPTS,
        },
      );
    // A job this configuration switched off (the probe with an override of 0) stops for everyone.
    for (const name of PERIODIC_JOB_NAMES) if (!enabled.has(name)) await this.queue.removeJobScheduler(name);
    this.logger.log(
      `periodic jobs: ${this.jobs.map((job) => `${job.name} every ${job.everyMs / 1000} s`).join(', ')}`,
    );
  }
}

/**
 * The periodic jobs without the backfill queue (BACKFILL_ENABLED=false): only the reconciliation is
 * enabled then, and it runs on a timer of each replica, as the event path does without the queue.
 */
@Injectable()
export class LocalPeriodicJobs implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('PeriodicJobs');
  private jobs: PeriodicJob[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: SchedulerRegistry,
    @Inject(backfillConfig.KEY) private readonly backfill: BackfillConfig,
    @Inject(getConfigToken(EVENTS_NAMESPACE)) private readonly events: { RECONCILE_INTERVAL_SECONDS: number },
  ) {}

  onModuleInit(): void {
    this.jobs = bindPeriodicJobs(providerInstances(this.discovery), { ...this.backfill, ...this.events });
  }

  onApplicationBootstrap(): void {
    startLocalPeriodicJobs(this.registry, this.jobs, this.logger);
  }

  beforeApplicationShutdown(): void {
    stopLocalPeriodicJobs(this.registry, this.jobs);
  }
}

export const localTimerName = (name: string): string => `periodic:${name}`;

/** Runs `jobs` on per-process intervals of `registry`. */
export function startLocalPeriodicJobs(
  registry: SchedulerRegistry,
  jobs: readonly PeriodicJob[],
  logger = new Logger('PeriodicJobs'),
): void {
  for (const job of jobs) {
    const run = logged(logger, job);
    startInterval(registry, localTimerName(job.name), job.everyMs, () => void run().catch(() => undefined));
  }
}

export function stopLocalPeriodicJobs(registry: SchedulerRegistry, jobs: readonly PeriodicJob[]): void {
  for (const job of jobs) stopTimer(registry, localTimerName(job.name));
}
