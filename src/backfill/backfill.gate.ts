import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { backoff, retryUntilDone } from '../common/backoff';
import { Dependency } from '../common/dependency-errors';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { BACKFILL_QUEUE, BackfillJobData } from './backfill.constants';
import { BackfillFailurePolicy } from './backfill-failure.policy';
import { BackfillRecorder } from './backfill.recorder';
import { HISTORY_PROVIDER, HistoryProvider } from './history-provider';

/** Set while the queue is paused because the upstream refused our credentials; cleared at boot. */
const PAUSE_REASON_KEY = 'backfill:paused-reason';
/** Probes of an unreachable database: from 1 s, backing off to 5 s. */
const PROBE_BACKOFF = { baseMs: 1000, maxMs: 5000 };
/** Looks at the queue's pause state at boot: from 250 ms, backing off to 5 s, until Redis answers. */
const BOOT_CHECK_BACKOFF = { baseMs: 250, maxMs: 5000 };

/**
 * Holds the backfill worker back while it could only fail, and lets it go again: while the database
 * cannot be reached (this replica's worker is paused and a probe resumes it), while the upstream
 * refuses our credentials (the queue is paused for every replica until a restart brings a new
 * token), and while the circuit in front of the upstream is open (a job is admitted only when a
 * request may go). Readiness reports what it holds for.
 */
@Injectable()
export class BackfillGate {
  private readonly logger = new Logger(BackfillGate.name);
  private worker?: Worker<BackfillJobData>;
  private readonly stopping = new AbortController();
  private pausedReason?: string;
  /** Set while the worker takes no job because a dependency cannot be reached. */
  private held?: { dependency: Dependency; since: number; reason: string };

  constructor(
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    @Inject(HISTORY_PROVIDER) private readonly provider: HistoryProvider,
    private readonly policy: BackfillFailurePolicy,
    private readonly recorder: BackfillRecorder,
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
  ) {}

  /**
   * Starts guarding `worker`. In the background: boot must not wait for Redis (readiness reports
   * it), and a queue paused for credentials holds the worker back until this has run.
   */
  attach(worker: Worker<BackfillJobData>): void {
    this.worker = worker;
    void this.resumeWhenReachable();
  }

  /** Shutdown: no more probes, and nothing is held or resumed any more. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * Whether the job may ask the upstream now: undefined when it may (a request slot is claimed), or
   * the milliseconds to wait while the circuit is open. Not an attempt: the upstream was not asked.
   */
  admitUpstream(): number | undefined {
    const wait = this.policy.admitUpstream();
    return wait === undefined ? undefined : Math.max(250, wait);
  }

  /**
   * Stops taking jobs (on this replica) until the dependency answers a probe, then resumes by itself.
   * Jobs already running meet the same failure and are put back the same way.
   */
  holdFor(dependency: Dependency, reason: string): void {
    if (this.held || !this.worker || this.stopping.signal.aborted) return;
    this.held = { dependency, since: Date.now(), reason };
    this.recorder.dependencyDown(dependency);
    this.logger.warn(
      `${reason}: backfill worker paused; waiting jobs keep their attempts and resume when it answers`,
    );
    void this.worker.pause(true).catch(() => undefined);
    void this.probeUntilReachable();
  }

  private async probeUntilReachable(): Promise<void> {
    for (let attempt = 0; this.held && !this.stopping.signal.aborted; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, backoff(PROBE_BACKOFF, attempt)).unref());
      if (this.stopping.signal.aborted) return;
      if (!(await this.policy.databaseAnswers())) continue;
      const held = this.held;
      this.held = undefined;
      const seconds = (Date.now() - held.since) / 1000;
      this.recorder.dependencyBack(held.dependency, seconds);
      this.logger.log(
        `${held.dependency} answers again after ${seconds.toFixed(1)} s: backfill worker resumed`,
      );
      this.worker?.resume();
      return;
    }
  }

  /** Pauses the queue for every replica: asking with credentials the upstream refused is pointless. */
  async pauseForCredentials(reason: string): Promise<void> {
    if (this.pausedReason) return;
    this.pausedReason = reason;
    this.logger.error(`pausing the backfill queue: ${reason}`);
    const client = await this.queue.client;
    await client.set(`${this.config.QUEUE_PREFIX}:${PAUSE_REASON_KEY}`, reason);
    await this.queue.pause();
  }

  private async resumeWhenReachable(): Promise<void> {
    await retryUntilDone(
      () => this.resumeIfPausedForCredentials(),
      BOOT_CHECK_BACKOFF,
      this.stopping.signal,
      (error) => this.logger.warn(`cannot check the queue's pause state yet: ${error.message}`),
    );
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

  /** What readiness reports of the worker (see BackfillHealthIndicator). */
  status() {
    return {
      provider: this.provider.name,
      circuit: this.policy.breaker.state,
      consecutive_failures: this.policy.breaker.consecutiveFailures,
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
