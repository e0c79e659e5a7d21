import { InjectQueue } from '@nestjs/bullmq';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import { DelayedError, Job, Queue, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import { InFlight } from '../common/in-flight';
import { settledWithin } from '../common/with-timeout';
import { appConfig, AppSettingsConfig } from '../config/app.config';
import { InjectSettings } from '../config/settings';
import { redisConfig, RedisConfig } from '../redis/redis.config';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { BACKFILL_QUEUE, BackfillJobData, queueConnection } from './backfill.constants';
import { backoffDelay } from './backfill-failure.policy';
import { BackfillGate } from './backfill.gate';
import { BackfillJobHandler, bindJobHandlers, HandlesBackfillJobs } from './backfill.jobs';
import { BackfillOutcome } from './backfill.outcome';
import { BackfillRecorder } from './backfill.recorder';
import { BackfillWindowJob } from './backfill-window.job';
import { HISTORY_PROVIDER, HistoryProvider } from './history-provider';
import { PeriodicJobsService } from './periodic-jobs.service';

/** How long a forced close of the worker, then dropping its connections, may take at shutdown. */
const HARD_CLOSE_MS = 1000;

/** Upstream requests per `duration` for BullMQ's limiter, which wants whole numbers of jobs. */
export function limiterFor(ratePerSecond: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(ratePerSecond));
  return { max, duration: Math.round((1000 * max) / ratePerSecond) };
}

/**
 * The one worker of the backfill queue: its BullMQ Worker, the dispatch of each job to its handler,
 * what a job's outcome means to BullMQ, and the drain at shutdown. The job itself is
 * BackfillWindowJob, what a failure means is BackfillFailurePolicy, holding the worker while it
 * could only fail is BackfillGate. BullMQ's limiter is kept in Redis, so the rate holds across every
 * replica.
 */
@Injectable()
export class BackfillProcessor implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackfillProcessor.name);
  private worker?: Worker<BackfillJobData>;
  private readonly stopping = new AbortController();
  /** Jobs this replica is working on, for the drain at shutdown. */
  private readonly inFlight = new InFlight();
  private handlers = new Map<string, BackfillJobHandler>();

  constructor(
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    @Inject(HISTORY_PROVIDER) private readonly provider: HistoryProvider,
    private readonly windowJob: BackfillWindowJob,
    private readonly gate: BackfillGate,
    private readonly recorder: BackfillRecorder,
    @InjectSettings(backfillConfig, redisConfig, appConfig)
    private readonly config: BackfillConfig & RedisConfig & AppSettingsConfig,
    private readonly periodic: PeriodicJobsService,
  ) {}

  /** Fails the boot when a trigger of the table has no handler (see backfill.jobs.ts). */
  onModuleInit(): void {
    this.handlers = bindJobHandlers([this]);
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker<BackfillJobData>(BACKFILL_QUEUE, (job, token) => this.tracked(job, token), {
      connection: queueConnection(this.config.REDIS_URL),
      prefix: this.config.QUEUE_PREFIX,
      concurrency: this.config.BACKFILL_CONCURRENCY,
      limiter: limiterFor(this.config.BACKFILL_RATE_LIMIT_PER_SECOND),
      settings: { backoffStrategy: (attemptsMade, _type, error) => backoffDelay(attemptsMade, error) },
      // Jobs last seconds (the lock is renewed while one runs); a job whose worker died or lost Redis
      // mid-job is handed over within lockDuration + stalledInterval.
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 3,
    });
    // A Redis outage makes both connections report every reconnect attempt: one line per 10 s is enough.
    let lastReport = 0;
    const report = (source: string) => (error: Error) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      this.logger.warn(`backfill ${source}: ${error.message}`);
    };
    this.worker.on('error', report('worker'));
    this.queue.on('error', report('queue'));
    this.logger.log(
      `backfill worker started: provider ${this.provider.name}, ${this.config.BACKFILL_RATE_LIMIT_PER_SECOND} requests/s, concurrency ${this.config.BACKFILL_CONCURRENCY}`,
    );
    this.gate.attach(this.worker);
  }

  /**
   * SIGTERM: no new job is taken, fetches in flight are aborted and their jobs go back to the queue
   * (another replica or the next start takes them), jobs already writing finish. Bounded below
   * SHUTDOWN_TIMEOUT_MS; past the bound the worker is closed hard and its locks expire.
   *
   * The drain waits for this replica's own jobs, not for BullMQ's graceful close: that one waits for
   * its blocking connection to end, which a client still reconnecting after a Redis outage never
   * does, and a forced close asked for later joins the stuck one (taskforcesh/bullmq#4656). Closed
   * forced from the start, the worker stops its lock renewal timer at once whatever its connections do.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    const worker = this.worker;
    this.stopping.abort();
    this.gate.stop();
    // Only flags: no new job is fetched and the stalled checker stops, whatever Redis does.
    await settledWithin(worker.pause(true), HARD_CLOSE_MS);
    const bound = Math.max(500, this.config.SHUTDOWN_TIMEOUT_MS - 2000 - 2 * HARD_CLOSE_MS);
    if (!(await this.inFlight.settledWithin(bound)))
      this.logger.warn(`backfill worker did not drain within ${bound} ms; closing hard`);
    // BullMQ records a finished job (moveToCompleted) in the promise reactions that follow ours;
    // after this turn its command is on the socket, and a forced close ends the socket after it.
    await new Promise((resolve) => setImmediate(resolve));
    if (!(await settledWithin(worker.close(true), HARD_CLOSE_MS))) {
      this.logger.warn('backfill worker did not close within its bound; dropping its connections');
      await settledWithin(worker.disconnect(), HARD_CLOSE_MS);
    }
  }

  private tracked(job: Job<BackfillJobData>, token?: string): Promise<void> {
    // Periodic jobs (periodic-jobs.ts) go to their owners; every other job is a history request.
    const handler = this.periodic.handlerFor(job.name) ?? this.handlers.get(job.name);
    // A job of a name this version does not know (written by a newer replica, say): failed at once,
    // with the reason in the queue; the records' comparison with the queue then marks its record.
    if (!handler) return Promise.reject(new UnrecoverableError(`no handler for backfill job "${job.name}"`));
    return this.inFlight.track(handler(job, token));
  }

  @HandlesBackfillJobs('event', 'manual', 'reconcile', 'stream_gap', 'sweep')
  async fetchWindow(job: Job<BackfillJobData>, token?: string): Promise<void> {
    return this.settle(job, token, await this.windowJob.run(job, this.stopping.signal));
  }

  /**
   * What an outcome means to BullMQ. `retry` throws the job's error, so BullMQ spends the attempt
   * and retries with the failure policy's backoff; `failed` ends the job without retry; `deferred`
   * moves the job back without spending an attempt (to the waiting list at shutdown).
   */
  private async settle(
    job: Job<BackfillJobData>,
    token: string | undefined,
    outcome: BackfillOutcome,
  ): Promise<void> {
    switch (outcome.status) {
      case 'done':
      case 'skipped':
        return;
      case 'retry':
        throw outcome.error;
      case 'failed':
        throw new UnrecoverableError(outcome.reason);
      case 'deferred': {
        this.recorder.deferred(outcome.cause);
        if (outcome.cause === 'database' || outcome.cause === 'redis') {
          this.gate.holdFor(outcome.cause, outcome.reason);
          this.logger.debug(`job ${job.id}: ${outcome.reason}; back to the queue without using an attempt`);
        }
        if (outcome.delayMs === undefined) {
          await job.moveToWait(token);
          throw new WaitingError();
        }
        await job.moveToDelayed(Date.now() + outcome.delayMs, token);
        throw new DelayedError();
      }
    }
  }
}
