import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
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

// Requests in flight at once: the requester talks to Redis and the database per call.
const REQUEST_CONCURRENCY = 32;

/**
 * What "subscribed" and "unsubscribed" mean here, for the event listener and the reconciler alike:
 * record the instrument and the subscription, ask for an immediate backfill; or mark the
 * subscription inactive and drop its waiting jobs, keeping its data. Idempotent, so every replica can
 * apply every event.
 */
@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger('Subscriptions');
  private gaugeRun?: Promise<void>;
  private gaugeAgain = false;
  private saidNoRequester = false;

  constructor(
    private readonly config: AppConfig,
    private readonly subscriptions: SubscriptionsRepository,
    private readonly instruments: InstrumentsRepository,
    private readonly metrics: MetricsService,
    @Optional() @Inject(BACKFILL_REQUESTER) private readonly backfill?: BackfillRequester,
  ) {}

  async subscribe(
    items: readonly SubscribedInstrument[],
    source: 'event' | 'reconcile',
    at: Date,
  ): Promise<void> {
    if (items.length === 0) return;
    await this.instruments.upsert(
      items.map((item) => ({
        instrumentToken: item.instrumentToken,
        tradingsymbol: item.tradingsymbol ?? null,
        segment: item.segment ?? null,
        exchange: exchangeOf(item.segment),
      })),
    );
    await this.subscriptions.activate(items, source, at);
    for (const item of items)
      this.logger.log(
        `subscribed token=${item.instrumentToken} tradingsymbol=${item.tradingsymbol ?? '?'} source=${source}`,
      );
    this.refreshActiveGauge();
    if (this.config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE) await this.requestBackfill(items, source);
  }

  /** Returns the tokens that had a subscription row (the others were never known here). */
  async unsubscribe(tokens: readonly number[], at: Date, source: 'event' | 'reconcile'): Promise<number[]> {
    if (tokens.length === 0) return [];
    const known = await this.subscriptions.deactivate(tokens, at);
    await forEachLimited(known, REQUEST_CONCURRENCY, async (token) => {
      let dropped = 0;
      try {
        dropped = this.backfill ? await this.backfill.cancelPending(token) : 0;
      } catch (error) {
        this.logger.warn(
          `token=${token}: dropping waiting backfill jobs failed: ${(error as Error).message}`,
        );
      }
      this.logger.log(`unsubscribed token=${token} source=${source} waiting_jobs_dropped=${dropped}`);
    });
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

  private async requestBackfill(
    items: readonly SubscribedInstrument[],
    trigger: 'event' | 'reconcile',
  ): Promise<void> {
    const backfill = this.backfill;
    if (!backfill) {
      if (!this.saidNoRequester)
        this.logger.warn('no backfill requester is configured; immediate backfills are not requested');
      this.saidNoRequester = true;
      return;
    }
    await forEachLimited(items, REQUEST_CONCURRENCY, async (item) => {
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
    });
  }
}

function exchangeOf(segment: string | null | undefined): string | null {
  // NFO-OPT, NFO-FUT, BFO-OPT: the exchange is the part before the dash; INDICES tells nothing.
  if (!segment || !segment.includes('-')) return null;
  return segment.split('-')[0] || null;
}

export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
