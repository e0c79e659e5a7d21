import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BACKFILL_REQUESTER, BackfillRequester } from '../backfill/backfill.requests';
import { InstrumentsRepository } from '../market-data/instruments.repository';
import { MetricsService } from '../metrics/metrics.service';
import { SubscriptionsRepository } from './subscriptions.repository';

export interface SubscribedInstrument {
  instrumentToken: number;
  tradingsymbol?: string | null;
  segment?: string | null;
  requestedMode?: string | null;
  accountId?: string | null;
  /** When the news arrived (the event's arrival, the reconciliation's start): starts time-to-data. */
  requestedAt: Date;
}

export interface SubscribeResult {
  /** Per token, settles when its immediate backfill has been requested (or was not needed). */
  requested: Map<number, Promise<void>>;
}

interface RequestTask {
  item: SubscribedInstrument;
  trigger: 'event' | 'reconcile';
  /** Set when the token is unsubscribed before its request started. */
  cancelled: boolean;
  done: Promise<void>;
  settle: () => void;
}

/**
 * Requests in flight at once. Each costs the requester a few queries and one queue call, and its
 * cost is mostly CPU (gap planning), so more in flight adds no throughput; it only queues the
 * recording of new events and the API behind them in the connection pool. Half the pool it is.
 */
export function requestConcurrency(config: Pick<AppConfig, 'DB_POOL_SIZE'>): number {
  return Math.max(2, Math.floor(config.DB_POOL_SIZE / 2));
}
const SHUTDOWN_DRAIN_MS = 5000;

/**
 * What "subscribed" and "unsubscribed" mean here, for the event listener and the reconciler alike:
 * record the instrument and the subscription, ask for an immediate backfill; or mark the
 * subscription inactive and drop its waiting jobs, keeping its data. Idempotent, so every replica can
 * apply every event.
 *
 * Backfill requests run in a pipeline of their own, so recording the next events never waits for
 * the requests of the previous ones. An unsubscription first withdraws the token's requests that
 * have not started and waits for the one running, then drops the waiting jobs: a removal that
 * follows a creation never leaves a job behind.
 */
@Injectable()
export class SubscriptionsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Subscriptions');
  private gaugeRun?: Promise<void>;
  private gaugeAgain = false;
  private saidNoRequester = false;
  private readonly waiting: RequestTask[] = [];
  private readonly byToken = new Map<number, Set<RequestTask>>();
  private running = 0;
  private readonly concurrency: number;

  constructor(
    private readonly config: AppConfig,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly instruments: InstrumentsRepository,
    private readonly metrics: MetricsService,
    @Optional() @Inject(BACKFILL_REQUESTER) private readonly backfill?: BackfillRequester,
  ) {
    this.concurrency = requestConcurrency(config);
  }

  /** Backfill requests queued or running. */
  get pendingRequests(): number {
    return this.waiting.length + this.running;
  }

  async subscribe(
    items: readonly SubscribedInstrument[],
    source: 'event' | 'reconcile',
    at: Date,
  ): Promise<SubscribeResult> {
    const requested = new Map<number, Promise<void>>();
    if (items.length === 0) return { requested };
    await this.instruments.upsert(
      items.map((item) => ({
        instrumentToken: item.instrumentToken,
        tradingsymbol: item.tradingsymbol ?? null,
        segment: item.segment ?? null,
      })),
    );
    await this.subscriptions.activate(items, source, at);
    for (const item of items)
      this.logger.log(
        `subscribed token=${item.instrumentToken} tradingsymbol=${item.tradingsymbol ?? '?'} source=${source}`,
      );
    this.refreshActiveGauge();
    if (this.config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE)
      for (const item of items) requested.set(item.instrumentToken, this.enqueueRequest(item, source));
    return { requested };
  }

  /** Returns the tokens that had a subscription row (the others were never known here). */
  async unsubscribe(tokens: readonly number[], at: Date, source: 'event' | 'reconcile'): Promise<number[]> {
    if (tokens.length === 0) return [];
    const known = await this.subscriptions.deactivate(tokens, at);
    // Every token's requests withdrawn (or finished) first, then the waiting jobs of all of them
    // dropped in one pass: a removal that follows a creation never leaves a job behind.
    await Promise.all(known.map((token) => this.withdrawRequests(token)));
    let dropped = 0;
    try {
      dropped = this.backfill && known.length > 0 ? await this.backfill.cancelPending(known) : 0;
    } catch (error) {
      this.logger.warn(
        `${known.length} unsubscribed instruments (tokens=${known.slice(0, 5).join(',')}${known.length > 5 ? ',...' : ''}): dropping waiting backfill jobs failed: ${(error as Error).message}`,
      );
    }
    for (const token of known) this.logger.log(`unsubscribed token=${token} source=${source}`);
    if (known.length > 0)
      this.logger.log(`unsubscribed ${known.length} instruments: waiting_jobs_dropped=${dropped}`);
    this.refreshActiveGauge();
    return known;
  }

  /** Recounts `subscriptions_active`; overlapping calls collapse into one follow-up count. */
  refreshActiveGauge(): void {
    if (this.gaugeRun) {
      this.gaugeAgain = true;
      return;
    }
    this.gaugeRun = this.subscriptions
      .countActive()
      .then((count) => this.metrics.subscriptionsActive.set(count))
      .catch((error: Error) => this.logger.warn(`counting active subscriptions failed: ${error.message}`))
      .finally(() => {
        this.gaugeRun = undefined;
        if (this.gaugeAgain) {
          this.gaugeAgain = false;
          this.refreshActiveGauge();
        }
      });
  }

  /** Lets requests already accepted reach the queue before it closes (bounded). */
  async beforeApplicationShutdown(): Promise<void> {
    const all = [...this.byToken.values()].flatMap((tasks) => [...tasks].map((task) => task.done));
    if (all.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_DRAIN_MS))),
    ]);
    clearTimeout(timer);
  }

  private enqueueRequest(item: SubscribedInstrument, trigger: 'event' | 'reconcile'): Promise<void> {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    const task: RequestTask = { item, trigger, cancelled: false, done, settle };
    const tasks = this.byToken.get(item.instrumentToken) ?? new Set<RequestTask>();
    tasks.add(task);
    this.byToken.set(item.instrumentToken, tasks);
    this.waiting.push(task);
    this.pump();
    return done;
  }

  private async withdrawRequests(token: number): Promise<void> {
    const tasks = this.byToken.get(token);
    if (!tasks) return;
    for (const task of tasks) task.cancelled = true;
    await Promise.all([...tasks].map((task) => task.done));
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.length > 0) {
      const task = this.waiting.shift()!;
      this.running++;
      void this.run(task).finally(() => {
        this.running--;
        const tasks = this.byToken.get(task.item.instrumentToken);
        tasks?.delete(task);
        if (tasks?.size === 0) this.byToken.delete(task.item.instrumentToken);
        task.settle();
        this.pump();
      });
    }
  }

  private async run(task: RequestTask): Promise<void> {
    if (task.cancelled) return;
    const { item, trigger } = task;
    const backfill = this.backfill;
    if (!backfill) {
      if (!this.saidNoRequester)
        this.logger.warn('no backfill requester is configured; immediate backfills are not requested');
      this.saidNoRequester = true;
      return;
    }
    try {
      const result = await backfill.request({
        instrumentToken: item.instrumentToken,
        trigger,
        requestedAt: item.requestedAt,
      });
      if (result.skipped)
        this.logger.log(
          `token=${item.instrumentToken} tradingsymbol=${item.tradingsymbol ?? '?'}: backfill not needed (${result.skipped})`,
        );
    } catch (error) {
      // The scheduled sweep catches up whatever an immediate request could not queue.
      this.logger.warn(
        `token=${item.instrumentToken} tradingsymbol=${item.tradingsymbol ?? '?'}: ${trigger} backfill request failed: ${(error as Error).message}`,
      );
    }
  }
}
