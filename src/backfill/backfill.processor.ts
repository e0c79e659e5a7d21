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
import { performance } from 'node:perf_hooks';
import {
  Dependency,
  DependencyUnavailableError,
  isConnectionError,
  isStatementTimeout,
} from '../common/dependency-errors';
import { ThrottledLog } from '../common/throttled-log';
import { settledWithin, withTimeout } from '../common/with-timeout';
import { AppConfig } from '../config/app-config';
import { CLOCK, Clock } from '../contracts/market-time';
import { CandlesRepository } from '../market-data/candles.repository';
import { InstrumentsService } from '../market-data/instruments.service';
import { MetricsService } from '../metrics/metrics.service';
import { CircuitBreaker } from './circuit-breaker';
import { BACKFILL_QUEUE, BackfillJobData, redisOptionsFromUrl } from './backfill.constants';
import { BackfillJobHandler, bindJobHandlers, HandlesBackfillJobs } from './backfill.jobs';
import { BackfillRepository, isUnsupportedAt, NewJobRecord } from './backfill.repository';
import { BACKFILL_TRIGGER_TABLE } from './backfill.requests';
import { HISTORY_PROVIDER, HistoryError, HistoryProvider } from './history-provider';
import { SubscriptionCheck } from './subscription-check';
import { coveredRange, HistoryAnswer, WindowMismatchError } from './history-window';
import { UpstreamHealth } from './upstream-health';

/** Set while the queue is paused because the upstream refused our credentials; cleared at boot. */
const PAUSE_REASON_KEY = 'backfill:paused-reason';
/** How long a job waits before it looks again at a queue paused for credentials. */
const AUTH_RETRY_DELAY_MS = 60_000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** A job that met an unreachable database is looked at again after about this long. */
const DEPENDENCY_RETRY_MS = 2000;
/** For this long after it was queued, a job's failures while the upstream fails for others too are free. */
const STORM_GRACE_MS = 30 * 60_000;
/** Probes of an unreachable database: from 1 s, backing off to 5 s. */
const PROBE_MIN_MS = 1000;
const PROBE_MAX_MS = 5000;
const PROBE_TIMEOUT_MS = 5000;
/** How long a forced close of the worker, then dropping its connections, may take at shutdown. */
const HARD_CLOSE_MS = 1000;

/**
 * Exponential backoff with full jitter, never sooner than the upstream's Retry-After. Replicas that
 * failed together must not all come back in the same instant.
 */
export function backoffDelay(
  attemptsMade: number,
  error?: Error,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  const retryAfter = error instanceof HistoryError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(jittered, retryAfter);
}

/** Upstream requests per `duration` for BullMQ's limiter, which wants whole numbers of jobs. */
export function limiterFor(ratePerSecond: number): { max: number; duration: number } {
  const max = Math.max(1, Math.round(ratePerSecond));
  return { max, duration: Math.round((1000 * max) / ratePerSecond) };
}

/**
 * The one worker of the backfill queue: one job is one upstream request, written in one transaction
 * with its coverage and its job record. BullMQ's limiter is kept in Redis, so the rate holds across
 * every replica.
 */
@Injectable()
export class BackfillProcessor implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(BackfillProcessor.name);
  private worker?: Worker<BackfillJobData>;
  private readonly stopping = new AbortController();
  /** Jobs this replica is working on, for the drain at shutdown. */
  private readonly inFlight = new Set<Promise<void>>();
  private handlers = new Map<string, BackfillJobHandler>();
  private pausedReason?: string;
  /** Wrong-window answers, at error level once per provider, shift and offset (and period). */
  private readonly mismatches = new ThrottledLog(this.logger, 'error');
  /** Set while the worker takes no job because a dependency cannot be reached. */
  private held?: { dependency: Dependency; since: number; reason: string };
  readonly breaker = new CircuitBreaker();
  readonly upstream = new UpstreamHealth();

  constructor(
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    @Inject(HISTORY_PROVIDER) private readonly provider: HistoryProvider,
    private readonly repository: BackfillRepository,
    private readonly subscription: SubscriptionCheck,
    private readonly candles: CandlesRepository,
    private readonly instruments: InstrumentsService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Fails the boot when a trigger of the table has no handler (see backfill.jobs.ts). */
  onModuleInit(): void {
    this.handlers = bindJobHandlers([this]);
  }

  onApplicationBootstrap(): void {
    this.worker = new Worker<BackfillJobData>(BACKFILL_QUEUE, (job, token) => this.tracked(job, token), {
      connection: { ...redisOptionsFromUrl(this.config.REDIS_URL), maxRetriesPerRequest: null },
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
    // In the background: boot must not wait for Redis (readiness reports it), and a paused queue
    // holds the worker back until this has run.
    void this.resumeWhenReachable();
  }

  private async resumeWhenReachable(): Promise<void> {
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        await this.resumeIfPausedForCredentials();
        return;
      } catch (error) {
        if (attempt === 0)
          this.logger.warn(`cannot check the queue's pause state yet: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)).unref());
      }
    }
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
    // Only flags: no new job is fetched and the stalled checker stops, whatever Redis does.
    await settledWithin(worker.pause(true), HARD_CLOSE_MS);
    const bound = Math.max(500, this.config.SHUTDOWN_TIMEOUT_MS - 2000 - 2 * HARD_CLOSE_MS);
    if (!(await settledWithin(Promise.allSettled([...this.inFlight]), bound)))
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
    const handler = this.handlers.get(job.name);
    // A job of a name this version does not know (written by a newer replica, say): failed at once,
    // with the reason in the queue; the records' comparison with the queue then marks its record.
    if (!handler) return Promise.reject(new UnrecoverableError(`no handler for backfill job "${job.name}"`));
    const work = handler(job, token);
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return work;
  }

  /**
   * A database that cannot be reached (refused, reset, no answer within DB_QUERY_TIMEOUT_MS) is not
   * the job's fault: the job goes back to the queue without using an attempt, and the worker takes
   * no more jobs until the database answers again. A statement the server cancelled at its timeout
   * is told apart by a probe (see `database`).
   */
  @HandlesBackfillJobs('event', 'manual', 'reconcile', 'stream_gap', 'sweep')
  async fetchWindow(job: Job<BackfillJobData>, token?: string): Promise<void> {
    try {
      await this.run(job, token);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) return this.deferForDependency(job, token, error);
      throw error;
    }
  }

  private async run(job: Job<BackfillJobData>, token?: string): Promise<void> {
    const data = job.data;
    const record: NewJobRecord = {
      id: job.id ?? '',
      instrumentToken: data.instrumentToken,
      trigger: data.trigger,
      from: new Date(data.from),
      to: new Date(data.to),
      requestedAt: new Date(data.requestedAt),
    };
    const attempt = job.attemptsMade + 1;
    const maxAttempts = job.opts.attempts ?? 1;
    if (this.stopping.signal.aborted) return this.requeue(job, token);

    const [marks, unsubscribed] = await this.database(() =>
      Promise.all([
        this.repository.findUnsupported([record.instrumentToken]),
        this.subscription.skipReason(data),
      ]),
    );
    const unsupported = marks.get(record.instrumentToken);
    const skip = unsubscribed
      ? { reason: 'unsubscribed', error: unsubscribed }
      : unsupported && isUnsupportedAt(unsupported, this.clock.now())
        ? { reason: 'unsupported', error: `unsupported upstream: ${unsupported.reason}` }
        : undefined;
    if (skip) {
      await this.database(async () => {
        await this.repository.markRunning(record, attempt, this.clock.now());
        await this.repository.finishJob(record.id, {
          state: 'skipped',
          error: skip.error,
          finishedAt: this.clock.now(),
        });
      });
      this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'skipped' });
      this.metrics.backfillSkipped.inc({ reason: skip.reason });
      return;
    }

    if (!this.breaker.tryAcquire()) {
      // Not an attempt: the upstream was not asked. The job waits until a trial may go.
      this.metrics.backfillDeferred.inc({ cause: 'circuit' });
      await job.moveToDelayed(Date.now() + Math.max(250, this.breaker.waitMs()), token);
      throw new DelayedError();
    }
    this.updateCircuitGauge();

    const started = performance.now();
    try {
      await this.database(() => this.repository.markRunning(record, attempt, this.clock.now()));
    } catch (error) {
      this.breaker.released();
      if (error instanceof DependencyUnavailableError) throw error;
      return this.onFailure(record, attempt, maxAttempts, error as Error);
    }
    let fetched: HistoryAnswer;
    try {
      fetched = await this.provider.fetch(
        record.instrumentToken,
        record.from,
        record.to,
        this.stopping.signal,
      );
    } catch (error) {
      if (this.stopping.signal.aborted) {
        this.breaker.released();
        return this.requeue(job, token);
      }
      return this.onFetchFailure(job, token, record, attempt, maxAttempts, error as Error);
    }
    this.breaker.succeeded();
    this.updateCircuitGauge();
    this.upstream.record(record.instrumentToken, true);
    this.metrics.backfillUpstreamRequests.inc({
      provider: this.provider.name,
      result: fetched.mismatch ? 'wrong_window' : fetched.candles.length > 0 ? 'ok' : 'empty',
    });
    if (fetched.mismatch) return this.onWindowMismatch(record, attempt, maxAttempts, fetched, started);

    try {
      await this.database(() => this.write(record, attempt, fetched, started, unsupported !== undefined));
    } catch (error) {
      // Nothing of this job was committed; it is retried whole. An unreachable database costs no
      // attempt; a write the database refused does.
      if (error instanceof DependencyUnavailableError) throw error;
      return this.onFailure(record, attempt, maxAttempts, error as Error);
    }
  }

  private async write(
    record: NewJobRecord,
    attempt: number,
    answer: HistoryAnswer,
    started: number,
    wasUnsupported: boolean,
  ): Promise<void> {
    const fetchedAt = this.clock.now();
    const candles = answer.candles;
    // What the answer is known to span (coveredRange): the window up to the minute in progress (not
    // final) when it is trusted, else only between its first and last candle; nothing when empty.
    const covered = coveredRange(record, candles, answer.spansWindow, fetchedAt);
    const written = await this.repository.transaction(async (manager) => {
      const rows = await this.candles.upsertHistory(
        candles,
        manager,
        covered && { instrumentToken: record.instrumentToken, ...covered },
      );
      if (covered)
        await this.repository.addCoverage(manager, {
          instrumentToken: record.instrumentToken,
          from: covered.from,
          to: covered.to,
          jobId: record.id,
          fetchedAt,
        });
      if (wasUnsupported) await this.repository.clearUnsupported(record.instrumentToken, manager);
      // A manual backfill may name a token nothing else has: the answer's name describes it. Every
      // other trigger's instrument was described when it was subscribed or first ticked.
      if (answer.instrument && record.trigger === 'manual')
        await this.instruments.record(
          [{ instrumentToken: record.instrumentToken, ...answer.instrument }],
          'ticker',
          manager,
        );
      const committedAt = this.clock.now();
      await this.repository.finishJob(
        record.id,
        {
          state: 'succeeded',
          rowsWritten: candles.length,
          finishedAt: committedAt,
          durationMs: Math.round(performance.now() - started),
          timeToDataMs: Math.max(0, committedAt.getTime() - record.requestedAt.getTime()),
          attempts: attempt,
        },
        manager,
      );
      return rows;
    });
    this.candles.refreshAggregates(record.from, record.to, written);
    const timeToData = Math.max(0, this.clock.now().getTime() - record.requestedAt.getTime()) / 1000;
    // Only where someone waits for the data: a new subscription may reach us as an event or through a
    // reconciliation (whichever asks first owns the job); a sweep or a stream gap has no arrival to time.
    if (BACKFILL_TRIGGER_TABLE[record.trigger]?.timeToData)
      this.metrics.backfillTimeToData.observe(timeToData);
    this.metrics.backfillJobDuration.observe(
      { trigger: record.trigger },
      (performance.now() - started) / 1000,
    );
    this.metrics.backfillCandlesWritten.inc(written);
    this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'succeeded' });
    this.logger.debug(
      `job ${record.id} instrument ${record.instrumentToken}: ${candles.length} candles, ${written} rows changed, ${
        covered ? `covered ${covered.from.toISOString()}..${covered.to.toISOString()}` : 'nothing covered'
      }${answer.spansWindow ? '' : ' (answer not shown to span its window)'}`,
    );
  }

  /**
   * The answer was for another window: the candles inside the window asked for are real minutes and
   * are kept, but nothing is recorded as covered, so the minutes stay gaps. The job fails for cause
   * (asking again with the same shift would get the same answer) unless the shift has been corrected
   * since, in which case it is retried like any other failure.
   */
  private async onWindowMismatch(
    record: NewJobRecord,
    attempt: number,
    maxAttempts: number,
    answer: HistoryAnswer,
    started: number,
  ): Promise<void> {
    const mismatch = answer.mismatch!;
    const direction =
      mismatch.earlier > 0 && mismatch.later > 0 ? 'both' : mismatch.earlier > 0 ? 'earlier' : 'later';
    this.metrics.backfillWindowMismatch.inc({ provider: this.provider.name, direction });
    const error = new WindowMismatchError(
      this.provider.name,
      mismatch,
      answer.shiftMinutes,
      answer.candles.length,
    );
    this.mismatches.report(
      `${this.provider.name}:${answer.shiftMinutes}:${mismatch.offsetMinutes}`,
      `job ${record.id} instrument ${record.instrumentToken}: ${error.message}`,
    );
    let written: number;
    try {
      written = await this.database(() =>
        this.repository.transaction(async (manager) => {
          const rows = await this.candles.upsertHistory(answer.candles, manager);
          if (!mismatch.retryable)
            await this.repository.finishJob(
              record.id,
              {
                state: 'failed',
                error: error.message,
                rowsWritten: answer.candles.length,
                finishedAt: this.clock.now(),
                durationMs: Math.round(performance.now() - started),
                attempts: attempt,
              },
              manager,
            );
          return rows;
        }),
      );
    } catch (failure) {
      // An unreachable database costs no attempt here either (see `process`).
      if (failure instanceof DependencyUnavailableError) throw failure;
      return this.onFailure(record, attempt, maxAttempts, failure as Error);
    }
    this.metrics.backfillCandlesWritten.inc(written);
    this.candles.refreshAggregates(record.from, record.to, written);
    if (mismatch.retryable) return this.onFailure(record, attempt, maxAttempts, error);
    this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'failed' });
    throw new UnrecoverableError(error.message);
  }

  private async onFetchFailure(
    job: Job<BackfillJobData>,
    token: string | undefined,
    record: NewJobRecord,
    attempt: number,
    maxAttempts: number,
    error: Error,
  ): Promise<void> {
    const kind = error instanceof HistoryError ? error.kind : 'transient';
    this.metrics.backfillUpstreamRequests.inc({ provider: this.provider.name, result: kind });
    if (kind !== 'auth') this.upstream.record(record.instrumentToken, kind !== 'transient');
    switch (kind) {
      case 'unsupported': {
        this.breaker.succeeded();
        this.updateCircuitGauge();
        const now = this.clock.now();
        await this.database(() =>
          this.repository.transaction(async (manager) => {
            await this.repository.markUnsupported(
              record.instrumentToken,
              error.message,
              now,
              this.config.BACKFILL_UNSUPPORTED_TTL_SECONDS,
              manager,
            );
            await this.repository.finishJob(
              record.id,
              { state: 'skipped', error: error.message, finishedAt: now, attempts: attempt },
              manager,
            );
          }),
        );
        this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'skipped' });
        this.logger.warn(
          `job ${record.id} instrument ${record.instrumentToken}: unsupported upstream, parked for ${this.config.BACKFILL_UNSUPPORTED_TTL_SECONDS} s: ${error.message}`,
        );
        return;
      }
      case 'auth': {
        this.breaker.released();
        await this.pauseForCredentials(error.message);
        await this.repository.recordRetry(record.id, attempt - 1, error.message).catch(() => undefined);
        this.metrics.backfillDeferred.inc({ cause: 'credentials' });
        await job.moveToDelayed(Date.now() + AUTH_RETRY_DELAY_MS, token);
        throw new DelayedError();
      }
      case 'invalid': {
        this.breaker.succeeded();
        this.updateCircuitGauge();
        // Asking again would get the same answer: the job fails now, and says why once.
        this.logger.warn(
          `job ${record.id} instrument ${record.instrumentToken}: refused by the upstream, failed without retry: ${error.message}`,
        );
        await this.finishFailed(record, attempt, error.message);
        throw new UnrecoverableError(error.message);
      }
      case 'transient': {
        this.breaker.failed();
        this.updateCircuitGauge();
        // A storm longer than the grace is an outage: the job's attempts count again, so that a
        // contract that fails alone among others failing (an expired one) still ends.
        if (
          Date.now() - job.timestamp < STORM_GRACE_MS &&
          this.upstream.failingForOthers(record.instrumentToken)
        )
          return this.deferForUpstream(job, token, record, attempt, error);
        return this.onFailure(record, attempt, maxAttempts, error);
      }
    }
  }

  /**
   * The upstream fails for other instruments too (a storm of the ticker's 502s): the job is retried
   * with the usual backoff, but the failure is not its own and uses no attempt.
   */
  private async deferForUpstream(
    job: Job<BackfillJobData>,
    token: string | undefined,
    record: NewJobRecord,
    attempt: number,
    error: Error,
  ): Promise<never> {
    const message = `upstream failing for other instruments too, retried without using an attempt: ${error.message}`;
    await this.repository.recordRetry(record.id, attempt - 1, message).catch(() => undefined);
    this.metrics.backfillDeferred.inc({ cause: 'upstream' });
    this.logger.debug(`job ${record.id} instrument ${record.instrumentToken}: ${message}`);
    const deferrals = Math.max(1, job.attemptsStarted - job.attemptsMade);
    await job.moveToDelayed(Date.now() + backoffDelay(deferrals, error), token);
    throw new DelayedError();
  }

  /** Back to the queue without an attempt; the worker holds off until the database answers again. */
  private async deferForDependency(
    job: Job<BackfillJobData>,
    token: string | undefined,
    error: DependencyUnavailableError,
  ): Promise<never> {
    this.metrics.backfillDeferred.inc({ cause: error.dependency });
    this.holdFor(error);
    this.logger.debug(`job ${job.id}: ${error.message}; back to the queue without using an attempt`);
    const jitter = Math.round(Math.random() * DEPENDENCY_RETRY_MS);
    await job.moveToDelayed(Date.now() + DEPENDENCY_RETRY_MS + jitter, token);
    throw new DelayedError();
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
  private async database<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isConnectionError(error)) throw new DependencyUnavailableError('database', error);
      if (isStatementTimeout(error) && !(await this.databaseAnswers()))
        throw new DependencyUnavailableError('database', error);
      throw error;
    }
  }

  private async databaseAnswers(): Promise<boolean> {
    try {
      await withTimeout(this.repository.ping(), PROBE_TIMEOUT_MS, 'database probe');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops taking jobs (on this replica) until the dependency answers a probe, then resumes by itself.
   * Jobs already running meet the same failure and are put back the same way.
   */
  private holdFor(error: DependencyUnavailableError): void {
    if (this.held || !this.worker || this.stopping.signal.aborted) return;
    this.held = { dependency: error.dependency, since: Date.now(), reason: error.message };
    this.metrics.backfillDependencyDown.set({ dependency: error.dependency }, 1);
    this.logger.warn(
      `${error.message}: backfill worker paused; waiting jobs keep their attempts and resume when it answers`,
    );
    void this.worker.pause(true).catch(() => undefined);
    void this.probeUntilReachable();
  }

  private async probeUntilReachable(): Promise<void> {
    for (let attempt = 0; this.held && !this.stopping.signal.aborted; attempt++) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(PROBE_MAX_MS, PROBE_MIN_MS * 2 ** attempt)).unref(),
      );
      if (this.stopping.signal.aborted) return;
      if (!(await this.databaseAnswers())) continue;
      const held = this.held;
      this.held = undefined;
      const seconds = (Date.now() - held.since) / 1000;
      this.metrics.backfillDependencyDown.set({ dependency: held.dependency }, 0);
      this.metrics.backfillDependencyDownSeconds.inc({ dependency: held.dependency }, seconds);
      this.logger.log(
        `${held.dependency} answers again after ${seconds.toFixed(1)} s: backfill worker resumed`,
      );
      this.worker?.resume();
      return;
    }
  }

  /** A failure of the job's own: recorded, then rethrown so BullMQ retries it with backoff. */
  private async onFailure(
    record: NewJobRecord,
    attempt: number,
    maxAttempts: number,
    error: Error,
  ): Promise<never> {
    if (attempt >= maxAttempts) {
      await this.finishFailed(record, attempt, error.message);
    } else {
      await this.repository.recordRetry(record.id, attempt, error.message).catch(() => undefined);
    }
    this.logger.warn(
      `job ${record.id} instrument ${record.instrumentToken}: attempt ${attempt}/${maxAttempts} failed: ${error.message}`,
    );
    throw error;
  }

  /**
   * The job's last attempt failed. With the database unreachable the record cannot say so: the job
   * is put back (DependencyUnavailableError) and fails for good once the record can be written, so
   * the queue and the record never disagree.
   */
  private async finishFailed(record: NewJobRecord, attempt: number, message: string): Promise<void> {
    try {
      await this.database(() =>
        this.repository.finishJob(record.id, {
          state: 'failed',
          error: message,
          finishedAt: this.clock.now(),
          attempts: attempt,
        }),
      );
    } catch (error) {
      if (error instanceof DependencyUnavailableError) throw error;
      this.logger.warn(`job ${record.id}: failure not recorded: ${(error as Error).message}`);
    }
    this.metrics.backfillTriggers.inc({ trigger: record.trigger, outcome: 'failed' });
  }

  /** Back to the queue without using an attempt (shutdown). */
  private async requeue(job: Job<BackfillJobData>, token?: string): Promise<never> {
    this.metrics.backfillDeferred.inc({ cause: 'shutdown' });
    await job.moveToWait(token);
    throw new WaitingError();
  }

  private async pauseForCredentials(reason: string): Promise<void> {
    if (this.pausedReason) return;
    this.pausedReason = reason;
    this.logger.error(`pausing the backfill queue: ${reason}`);
    const client = await this.queue.client;
    await client.set(`${this.config.QUEUE_PREFIX}:${PAUSE_REASON_KEY}`, reason);
    await this.queue.pause();
  }

  /** A restart is how a new access token arrives; a queue paused for the old one starts again. */
  private async resumeIfPausedForCredentials(): Promise<void> {
    const client = await this.queue.client;
    const key = `${this.config.QUEUE_PREFIX}:${PAUSE_REASON_KEY}`;
    const reason = await client.get(key);
    if (!reason) return;
    await this.queue.resume();
    // Jobs parked while the token was refused come back now rather than at their delay's end.
    await this.queue.promoteJobs();
    await client.del(key);
    this.logger.log(`backfill queue resumed after a restart (it was paused: ${reason})`);
  }

  private updateCircuitGauge(): void {
    this.metrics.backfillCircuitOpen.set(this.breaker.state === 'closed' ? 0 : 1);
  }

  /** What readiness reports of the worker (see BackfillHealthIndicator). */
  status() {
    return {
      provider: this.provider.name,
      circuit: this.breaker.state,
      consecutive_failures: this.breaker.consecutiveFailures,
      paused: this.pausedReason ?? null,
      waiting_for: this.held
        ? {
            dependency: this.held.dependency,
            since: new Date(this.held.since).toISOString(),
            reason: this.held.reason,
          }
        : null,
    };
  }
}
