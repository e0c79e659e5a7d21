import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { backfillConfig, BackfillConfig } from '../backfill/backfill.config';
import { BACKFILL_REQUESTER, BackfillRequester } from '../backfill/backfill.requests';
import { InFlight } from '../common/in-flight';
import { InstrumentsService } from '../market-data/instruments.service';
import { MetricsService } from '../metrics/metrics.service';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';

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
  /** Settles once the batch's immediate backfill has been requested (or was not needed); never rejects. */
  backfill: Promise<void>;
}

export interface UnsubscribeResult {
  /** The tokens that had a subscription row (the others were never known here). */
  known: number[];
  /** Settles once the waiting jobs of `known` have been dropped; never rejects. */
  backfill: Promise<void>;
}

const SHUTDOWN_DRAIN_MS = 5000;
const NOTHING = Promise.resolve();

/**
 * What "subscribed" and "unsubscribed" mean here, for the event listener and the reconciler alike:
 * record the instrument and the subscription, ask for an immediate backfill; or mark the
 * subscription inactive and drop its waiting jobs, keeping its data. Idempotent, so every replica can
 * apply every event.
 *
 * A batch's backfill request goes to the backfill whole, once the work the caller names as `after`
 * has settled: the event listener passes the queue work of the batch before, so that a removal's
 * drop of waiting jobs never overtakes the request recorded before it, nor a new request the drop
 * before it. What no order can cover (another replica's work, a reconciliation running beside the
 * events) the job covers itself: a job of an instrument unsubscribed by the time it runs ends
 * skipped (`SubscriptionCheck`).
 */
@Injectable()
export class SubscriptionsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Subscriptions');
  private gaugeRun?: Promise<void>;
  private gaugeAgain = false;
  private saidNoRequester = false;
  /** Queue work accepted and not yet done, for `idle` and the shutdown drain. */
  private readonly inFlight = new InFlight();

  constructor(
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly instruments: InstrumentsService,
    private readonly metrics: MetricsService,
    @Optional() @Inject(BACKFILL_REQUESTER) private readonly backfill?: BackfillRequester,
  ) {}

  /** Queue work (backfill requests, drops of waiting jobs) accepted and not yet done. */
  get pendingRequests(): number {
    return this.inFlight.size;
  }

  /** Settles once every piece of queue work accepted so far is done. */
  settled(): Promise<void> {
    return this.inFlight.size === 0 ? NOTHING : this.inFlight.settled();
  }

  /** `after`: queue work that must be done before this batch's request starts (never rejects). */
  async subscribe(
    items: readonly SubscribedInstrument[],
    source: 'event' | 'reconcile',
    at: Date,
    after: Promise<void> = NOTHING,
  ): Promise<SubscribeResult> {
    if (items.length === 0) return { backfill: NOTHING };
    // Described at once (the list, the tradingsymbol), so the instrument is complete before any tick.
    await this.instruments.record(
      items.map((item) => ({
        instrumentToken: item.instrumentToken,
        tradingsymbol: item.tradingsymbol ?? null,
        segment: item.segment ?? null,
      })),
      'ticker',
    );
    await this.subscriptions.activate(items, source, at);
    for (const item of items)
      this.logger.log(
        `subscribed token=${item.instrumentToken} tradingsymbol=${item.tradingsymbol ?? '?'} source=${source}`,
      );
    this.refreshActiveGauge();
    if (!this.config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE) return { backfill: NOTHING };
    const requested = [...items];
    return { backfill: this.queueWork(after, (backfill) => this.requestBackfill(backfill, requested, source)) };
  }

  /** `after`: queue work that must be done before this batch's drop starts (never rejects). */
  async unsubscribe(
    tokens: readonly number[],
    at: Date,
    source: 'event' | 'reconcile',
    after: Promise<void> = NOTHING,
  ): Promise<UnsubscribeResult> {
    if (tokens.length === 0) return { known: [], backfill: NOTHING };
    const known = await this.subscriptions.deactivate(tokens, at);
    for (const token of known) this.logger.log(`unsubscribed token=${token} source=${source}`);
    this.refreshActiveGauge();
    if (known.length === 0) return { known, backfill: NOTHING };
    return { known, backfill: this.queueWork(after, (backfill) => this.dropWaitingJobs(backfill, known)) };
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

  /** Lets queue work already accepted reach the queue before it closes (bounded). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.inFlight.settledWithin(SHUTDOWN_DRAIN_MS);
  }

  /** Runs `work` once `after` has settled; the returned promise never rejects. */
  private queueWork(after: Promise<void>, work: (backfill: BackfillRequester) => Promise<void>): Promise<void> {
    const backfill = this.backfill;
    if (!backfill) {
      if (!this.saidNoRequester)
        this.logger.warn('no backfill requester is configured; immediate backfills are not requested');
      this.saidNoRequester = true;
      return NOTHING;
    }
    return this.inFlight.track(after.then(() => work(backfill)));
  }

  private async requestBackfill(
    backfill: BackfillRequester,
    items: readonly SubscribedInstrument[],
    trigger: 'event' | 'reconcile',
  ): Promise<void> {
    try {
      const results = await backfill.request(
        items.map((item) => ({
          instrumentToken: item.instrumentToken,
          trigger,
          requestedAt: item.requestedAt,
        })),
      );
      results.forEach((result, i) => {
        if (result.skipped)
          this.logger.log(
            `token=${items[i].instrumentToken} tradingsymbol=${items[i].tradingsymbol ?? '?'}: backfill not needed (${result.skipped})`,
          );
      });
    } catch (error) {
      // The scheduled sweep catches up whatever an immediate request could not queue.
      this.logger.warn(
        `${trigger} backfill request for ${items.length} instruments (tokens ${tokensOf(items.map((item) => item.instrumentToken))}) failed: ${(error as Error).message}`,
      );
    }
  }

  private async dropWaitingJobs(backfill: BackfillRequester, tokens: readonly number[]): Promise<void> {
    try {
      const dropped = await backfill.cancelPending(tokens);
      this.logger.log(`unsubscribed ${tokens.length} instruments: waiting_jobs_dropped=${dropped}`);
    } catch (error) {
      this.logger.warn(
        `${tokens.length} unsubscribed instruments (tokens ${tokensOf(tokens)}): dropping waiting backfill jobs failed: ${(error as Error).message}`,
      );
    }
  }
}

/** A few tokens of a batch for a log line, not thousands. */
export function tokensOf(tokens: readonly number[]): string {
  return tokens.length > 5 ? `${tokens.slice(0, 5).join(', ')}, ...` : tokens.join(', ');
}
