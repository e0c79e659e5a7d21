import { Inject, Injectable, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { performance } from 'node:perf_hooks';
import { DependencyUnavailableError } from '../common/dependency-errors';
import { ThrottledLog } from '../common/throttled-log';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { CLOCK, Clock } from '../contracts/market-time';
import { CandlesRepository } from '../market-data/candles.repository';
import { InstrumentsService } from '../market-data/instruments.service';
import { BackfillJobData } from './backfill.constants';
import { BackfillFailurePolicy, failureKind } from './backfill-failure.policy';
import { BackfillGate } from './backfill.gate';
import { BackfillOutcome } from './backfill.outcome';
import { BackfillRecorder } from './backfill.recorder';
import { BackfillCoverageRepository } from './backfill-coverage.repository';
import { BackfillJobsRepository, NewJobRecord } from './backfill-jobs.repository';
import { isUnsupportedAt, UnsupportedInstrumentsRepository } from './unsupported-instruments.repository';
import { HISTORY_PROVIDER, HistoryProvider } from './history-provider';
import { SubscriptionCheck } from './subscription-check';
import { coveredRange, HistoryAnswer, WindowMismatchError } from './history-window';

/** How long a job waits before it looks again at a queue paused for credentials. */
const AUTH_RETRY_DELAY_MS = 60_000;

/** One run of a job: the record of its window and which attempt this is. */
interface Run {
  job: Job<BackfillJobData>;
  record: NewJobRecord;
  attempt: number;
  maxAttempts: number;
}

/**
 * One backfill job: one upstream request for one instrument's window, written in one transaction
 * with its coverage and its job record. Returns how the run ended (BackfillOutcome); only the
 * unexpected is thrown.
 */
@Injectable()
export class BackfillWindowJob {
  private readonly logger = new Logger(BackfillWindowJob.name);
  /** Wrong-window answers, at error level once per provider, shift and offset (and period). */
  private readonly mismatches = new ThrottledLog(this.logger, 'error');

  constructor(
    @Inject(HISTORY_PROVIDER) private readonly provider: HistoryProvider,
    private readonly jobs: BackfillJobsRepository,
    private readonly coverage: BackfillCoverageRepository,
    private readonly unsupported: UnsupportedInstrumentsRepository,
    private readonly candles: CandlesRepository,
    private readonly instruments: InstrumentsService,
    private readonly policy: BackfillFailurePolicy,
    private readonly gate: BackfillGate,
    private readonly recorder: BackfillRecorder,
    private readonly subscription: SubscriptionCheck,
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * A database that cannot be reached (refused, reset, no answer within DB_QUERY_TIMEOUT_MS) is not
   * the job's fault: the job is deferred without using an attempt, and the gate holds the worker
   * until the database answers again. A statement the server cancelled at its timeout is told apart
   * by a probe (see BackfillFailurePolicy.database). `stopping` aborts the fetch at shutdown.
   */
  async run(job: Job<BackfillJobData>, stopping: AbortSignal): Promise<BackfillOutcome> {
    try {
      return await this.attempt(job, stopping);
    } catch (error) {
      if (error instanceof DependencyUnavailableError)
        return {
          status: 'deferred',
          cause: error.dependency,
          reason: error.message,
          delayMs: this.policy.dependencyDelay(),
        };
      throw error;
    }
  }

  private async attempt(job: Job<BackfillJobData>, stopping: AbortSignal): Promise<BackfillOutcome> {
    const data = job.data;
    const record: NewJobRecord = {
      id: job.id ?? '',
      instrumentToken: data.instrumentToken,
      trigger: data.trigger,
      from: new Date(data.from),
      to: new Date(data.to),
      requestedAt: new Date(data.requestedAt),
    };
    const run: Run = { job, record, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
    if (stopping.aborted) return shutdown();

    const [marks, unsubscribed] = await this.policy.database(() =>
      Promise.all([
        this.unsupported.find([record.instrumentToken]),
        this.subscription.skipReason(data),
      ]),
    );
    const unsupported = marks.get(record.instrumentToken);
    const skip = unsubscribed
      ? { cause: 'unsubscribed' as const, reason: unsubscribed }
      : unsupported && isUnsupportedAt(unsupported, this.clock.now())
        ? { cause: 'unsupported' as const, reason: `unsupported upstream: ${unsupported.reason}` }
        : undefined;
    if (skip) {
      await this.policy.database(async () => {
        await this.recorder.running(record, run.attempt);
        await this.recorder.finish(record, { state: 'skipped', error: skip.reason });
      });
      this.recorder.ended(record.trigger, 'skipped');
      this.recorder.skipped(skip.cause);
      return { status: 'skipped', reason: skip.reason };
    }

    const wait = this.gate.admitUpstream();
    if (wait !== undefined)
      return { status: 'deferred', cause: 'circuit', reason: 'circuit open', delayMs: wait };

    const started = performance.now();
    try {
      await this.policy.database(() => this.recorder.running(record, run.attempt));
    } catch (error) {
      this.policy.released();
      if (error instanceof DependencyUnavailableError) throw error;
      return this.ownFailure(run, error as Error);
    }
    let fetched: HistoryAnswer;
    try {
      fetched = await this.provider.fetch(record.instrumentToken, record.from, record.to, stopping);
    } catch (error) {
      if (stopping.aborted) {
        this.policy.released();
        return shutdown();
      }
      return this.fetchFailed(run, error as Error);
    }
    this.policy.answered(record.instrumentToken);
    this.recorder.upstreamRequest(
      this.provider.name,
      fetched.mismatch ? 'wrong_window' : fetched.candles.length > 0 ? 'ok' : 'empty',
    );
    if (fetched.mismatch) return this.windowMismatch(run, fetched, started);

    try {
      await this.policy.database(() => this.write(run, fetched, started, unsupported !== undefined));
    } catch (error) {
      // Nothing of this job was committed; it is retried whole. An unreachable database costs no
      // attempt; a write the database refused does.
      if (error instanceof DependencyUnavailableError) throw error;
      return this.ownFailure(run, error as Error);
    }
    return { status: 'done' };
  }

  private async write(
    { record, attempt }: Run,
    answer: HistoryAnswer,
    started: number,
    wasUnsupported: boolean,
  ): Promise<void> {
    const fetchedAt = this.clock.now();
    const candles = answer.candles;
    // What the answer is known to span (coveredRange): the window up to the minute in progress (not
    // final) when it is trusted, else only between its first and last candle; nothing when empty.
    const covered = coveredRange(record, candles, answer.spansWindow, fetchedAt);
    const written = await this.jobs.transaction(async (manager) => {
      const rows = await this.candles.upsertHistory(
        candles,
        manager,
        covered && { instrumentToken: record.instrumentToken, ...covered },
      );
      if (covered)
        await this.coverage.addCoverage(manager, {
          instrumentToken: record.instrumentToken,
          from: covered.from,
          to: covered.to,
          jobId: record.id,
          fetchedAt,
        });
      if (wasUnsupported) await this.unsupported.clear(record.instrumentToken, manager);
      // A manual backfill may name a token nothing else has: the answer's name describes it. Every
      // other trigger's instrument was described when it was subscribed or first ticked.
      if (answer.instrument && record.trigger === 'manual')
        await this.instruments.record(
          [{ instrumentToken: record.instrumentToken, ...answer.instrument }],
          'ticker',
          manager,
        );
      const committedAt = this.clock.now();
      await this.recorder.finish(
        record,
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
    this.recorder.committed(record, written, (performance.now() - started) / 1000);
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
  private async windowMismatch(run: Run, answer: HistoryAnswer, started: number): Promise<BackfillOutcome> {
    const { record, attempt } = run;
    const mismatch = answer.mismatch!;
    const direction =
      mismatch.earlier > 0 && mismatch.later > 0 ? 'both' : mismatch.earlier > 0 ? 'earlier' : 'later';
    this.recorder.windowMismatch(this.provider.name, direction);
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
      written = await this.policy.database(() =>
        this.jobs.transaction(async (manager) => {
          const rows = await this.candles.upsertHistory(answer.candles, manager);
          if (!mismatch.retryable)
            await this.recorder.finish(
              record,
              {
                state: 'failed',
                error: error.message,
                rowsWritten: answer.candles.length,
                durationMs: Math.round(performance.now() - started),
                attempts: attempt,
              },
              manager,
            );
          return rows;
        }),
      );
    } catch (failure) {
      // An unreachable database costs no attempt here either.
      if (failure instanceof DependencyUnavailableError) throw failure;
      return this.ownFailure(run, failure as Error);
    }
    this.recorder.candlesWritten(written);
    this.candles.refreshAggregates(record.from, record.to, written);
    if (mismatch.retryable) return this.ownFailure(run, error);
    this.recorder.ended(record.trigger, 'failed');
    return { status: 'failed', reason: error.message };
  }

  private async fetchFailed(run: Run, error: Error): Promise<BackfillOutcome> {
    const { job, record, attempt } = run;
    const kind = failureKind(error);
    this.recorder.upstreamRequest(this.provider.name, kind);
    const meaning = this.policy.fetchFailed(record.instrumentToken, kind, job.timestamp);
    switch (meaning) {
      case 'unsupported': {
        const ttl = this.config.BACKFILL_UNSUPPORTED_TTL_SECONDS;
        const now = this.clock.now();
        await this.policy.database(() =>
          this.jobs.transaction(async (manager) => {
            await this.unsupported.mark(record.instrumentToken, error.message, now, ttl, manager);
            await this.recorder.finish(
              record,
              { state: 'skipped', error: error.message, finishedAt: now, attempts: attempt },
              manager,
            );
          }),
        );
        this.recorder.ended(record.trigger, 'skipped');
        this.logger.warn(
          `job ${record.id} instrument ${record.instrumentToken}: unsupported upstream, parked for ${ttl} s: ${error.message}`,
        );
        return { status: 'skipped', reason: error.message };
      }
      case 'credentials':
        await this.gate.pauseForCredentials(error.message);
        await this.recorder.retrying(record, attempt - 1, error.message);
        return {
          status: 'deferred',
          cause: 'credentials',
          reason: error.message,
          delayMs: AUTH_RETRY_DELAY_MS,
        };
      case 'invalid':
        // Asking again would get the same answer: the job fails now, and says why once.
        this.logger.warn(
          `job ${record.id} instrument ${record.instrumentToken}: refused by the upstream, failed without retry: ${error.message}`,
        );
        await this.finishFailed(run, error.message);
        return { status: 'failed', reason: error.message };
      case 'storm': {
        // The upstream fails for other instruments too (a storm of the ticker's 502s): the job is
        // retried with the usual backoff, but the failure is not its own and uses no attempt.
        const reason = `upstream failing for other instruments too, retried without using an attempt: ${error.message}`;
        await this.recorder.retrying(record, attempt - 1, reason);
        this.logger.debug(`job ${record.id} instrument ${record.instrumentToken}: ${reason}`);
        const delayMs = this.policy.stormDelay(job.attemptsStarted - job.attemptsMade, error);
        return { status: 'deferred', cause: 'upstream', reason, delayMs };
      }
      case 'own':
        return this.ownFailure(run, error);
    }
  }

  /** A failure of the job's own: recorded, and the attempt is spent (BullMQ retries with backoff). */
  private async ownFailure(run: Run, error: Error): Promise<BackfillOutcome> {
    const { record, attempt, maxAttempts } = run;
    if (attempt >= maxAttempts) await this.finishFailed(run, error.message);
    else await this.recorder.retrying(record, attempt, error.message);
    this.logger.warn(
      `job ${record.id} instrument ${record.instrumentToken}: attempt ${attempt}/${maxAttempts} failed: ${error.message}`,
    );
    return { status: 'retry', error };
  }

  /**
   * The job's last attempt failed. With the database unreachable the record cannot say so: the job
   * is put back (DependencyUnavailableError) and fails for good once the record can be written, so
   * the queue and the record never disagree.
   */
  private async finishFailed({ record, attempt }: Run, message: string): Promise<void> {
    try {
      await this.policy.database(() =>
        this.recorder.finish(record, { state: 'failed', error: message, attempts: attempt }),
      );
    } catch (error) {
      if (error instanceof DependencyUnavailableError) throw error;
      this.logger.warn(`job ${record.id}: failure not recorded: ${(error as Error).message}`);
    }
    this.recorder.ended(record.trigger, 'failed');
  }
}

function shutdown(): BackfillOutcome {
  return { status: 'deferred', cause: 'shutdown', reason: 'shutting down' };
}
