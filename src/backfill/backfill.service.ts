import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { JobsOptions, Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { CLOCK, Clock, floorToMinute, MINUTE_MS } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { TimeRange } from './backfill-gaps';
import {
  BACKFILL_QUEUE,
  BackfillJobData,
  backfillJobId,
  MAX_WINDOW_MS,
  splitWindow,
  TRIGGER_PRIORITY,
} from './backfill.constants';
import { BackfillPlanner } from './backfill.planner';
import { BackfillRepository, NewJobRecord } from './backfill.repository';
import { BackfillRequest, BackfillRequester, BackfillRequestResult } from './backfill.requests';

/** Failed jobs stay in the queue this long for inspection (their records stay in the database). */
const FAILED_RETENTION_SECONDS = 7 * 86_400;
/** Completed jobs stay a minute so that a repeat of the same request in that time collapses into them. */
const COMPLETED_RETENTION_SECONDS = 60;

/** The backfill's entry point: every trigger enqueues the same jobs through `request`. */
@Injectable()
export class BackfillService implements BackfillRequester {
  private readonly logger = new Logger(BackfillService.name);

  constructor(
    @InjectQueue(BACKFILL_QUEUE) private readonly queue: Queue<BackfillJobData>,
    private readonly planner: BackfillPlanner,
    private readonly repository: BackfillRepository,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async request(request: BackfillRequest): Promise<BackfillRequestResult> {
    const token = request.instrumentToken;
    const now = this.clock.now();
    const [unsupported, windows] = await Promise.all([
      this.repository.findUnsupported(token),
      this.windowsFor(request, now),
    ]);
    if (unsupported && new Date(unsupported.expires_at).getTime() > now.getTime()) {
      this.metrics.backfillTriggers.inc({ trigger: request.trigger, outcome: 'skipped' });
      return {
        jobIds: [],
        skipped: `unsupported upstream until ${new Date(unsupported.expires_at).toISOString()}`,
      };
    }
    if (windows.length === 0) {
      this.metrics.backfillTriggers.inc({ trigger: request.trigger, outcome: 'skipped' });
      return { jobIds: [], skipped: 'nothing missing' };
    }
    const jobIds = await this.enqueue(token, request, windows);
    this.logger.debug(`instrument ${token}: ${request.trigger} backfill queued as ${jobIds.join(', ')}`);
    return { jobIds };
  }

  /** Enqueues one job per window; windows must already be at most 60 days long. */
  async enqueue(token: number, request: BackfillRequest, windows: readonly TimeRange[]): Promise<string[]> {
    const records: NewJobRecord[] = windows.map((window) => ({
      id: backfillJobId(token, window.from, window.to),
      instrumentToken: token,
      trigger: request.trigger,
      from: window.from,
      to: window.to,
      requestedAt: request.requestedAt,
    }));
    // The record first: a worker may pick the job up before `addBulk` returns.
    await this.repository.insertQueued(records);
    await this.queue.addBulk(
      records.map((record) => ({
        name: record.trigger,
        data: {
          instrumentToken: token,
          trigger: record.trigger,
          from: record.from.toISOString(),
          to: record.to.toISOString(),
          requestedAt: record.requestedAt.toISOString(),
        },
        opts: this.jobOptions(record),
      })),
    );
    return records.map((record) => record.id);
  }

  async cancelPending(instrumentToken: number): Promise<number> {
    const prefix = `bf-${instrumentToken}-`;
    const jobs = await this.queue.getJobs(['waiting', 'prioritized', 'delayed', 'paused']);
    const cancelled: string[] = [];
    for (const job of jobs) {
      if (!job?.id?.startsWith(prefix)) continue;
      try {
        await job.remove();
        cancelled.push(job.id);
      } catch (error) {
        // Picked up by a worker in the meantime: it finishes; stored data is kept either way.
        this.logger.debug(`job ${job.id}: not cancelled (${(error as Error).message})`);
      }
    }
    await this.repository.markCancelled(cancelled, this.clock.now());
    if (cancelled.length > 0)
      this.logger.log(`instrument ${instrumentToken}: cancelled ${cancelled.length} pending jobs`);
    return cancelled.length;
  }

  private async windowsFor(request: BackfillRequest, now: Date): Promise<TimeRange[]> {
    if (!request.from && !request.to) return (await this.planner.plan(request.instrumentToken)).windows;
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
      priority: TRIGGER_PRIORITY[record.trigger],
      attempts: this.config.BACKFILL_MAX_ATTEMPTS,
      backoff: { type: 'custom' },
      removeOnComplete: { age: COMPLETED_RETENTION_SECONDS, count: 10_000 },
      removeOnFail: { age: FAILED_RETENTION_SECONDS, count: 10_000 },
    };
  }
}

/** Answers every request when BACKFILL_ENABLED=false, so callers need no flag of their own. */
@Injectable()
export class DisabledBackfillRequester implements BackfillRequester {
  private readonly logger = new Logger('Backfill');
  private said = false;

  request(): Promise<BackfillRequestResult> {
    if (!this.said) this.logger.log('BACKFILL_ENABLED=false: backfill requests are answered and dropped');
    this.said = true;
    return Promise.resolve({ jobIds: [], skipped: 'backfill disabled' });
  }

  cancelPending(): Promise<number> {
    return Promise.resolve(0);
  }
}
