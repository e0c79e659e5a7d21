import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { ThrottledLog } from '../common/throttled-log';
import { settledWithin } from '../common/with-timeout';
import { eventsConfig, EventsConfig } from './subscription-events.config';
import { appConfig, AppSettingsConfig } from '../config/app.config';
import { InjectSettings } from '../config/settings';
import { CLOCK, Clock } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { parseSubscriptionEvent, SubscriptionEvent } from './subscription-event.parser';
import { SubscriptionEventsTransport } from './subscription-events.transport';
import { SubscriptionReconcilerService } from './subscription-reconciler.service';
import { SubscribedInstrument, SubscriptionsService, tokensOf } from './subscriptions.service';

interface Arrival {
  event: SubscriptionEvent;
  arrivedAt: Date;
}

/** The events received since the last batch was taken, and one promise their senders wait on. */
interface OpenBatch {
  arrivals: Arrival[];
  applied: Promise<void>;
  settle: () => void;
}

const SHUTDOWN_DRAIN_MS = 5000;
const NOTHING = Promise.resolve();

/**
 * Handles subscription events: validates each message, then applies them in arrival order, in
 * batches. Within a batch the last event of a token decides (created then removed = removed).
 *
 * Events that arrive while a batch is written go together in the next one, so a burst of thousands
 * costs a few round trips instead of thousands. A batch is recorded while the queue work (backfill
 * requests, drops of waiting jobs) of the batch before it runs; its own queue work starts when that
 * one is done, so requests and drops reach the queue in the order their events were recorded.
 */
@Injectable()
export class SubscriptionEventsService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('SubscriptionEvents');
  private readonly rejections = new ThrottledLog(this.logger);
  private open?: OpenBatch;
  private draining?: Promise<void>;

  constructor(
    @InjectSettings(eventsConfig, appConfig) private readonly config: EventsConfig & AppSettingsConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly reconciler: SubscriptionReconcilerService,
    private readonly transport: SubscriptionEventsTransport,
  ) {}

  /** Stops listening, then lets the events already received be applied (bounded). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.transport.close();
    const applied = (this.draining ?? NOTHING).then(() => this.subscriptions.settled());
    if (!(await settledWithin(applied, SHUTDOWN_DRAIN_MS)))
      this.logger.warn(`shutting down with ${this.backlog} event(s) not applied; the next start reconciles`);
  }

  /** Resolves once the event is applied and its backfill requested (or it is rejected); never rejects. */
  receive(raw: unknown): Promise<void> {
    const arrivedAt = this.clock.now();
    const outcome = parseSubscriptionEvent(raw, this.config.SUBSCRIPTION_EVENT_MAX_BYTES);
    if (!outcome.ok) {
      this.metrics.subscriptionEvents.inc({ event_type: outcome.eventType, outcome: 'rejected' });
      this.metrics.subscriptionEventsRejected.inc({ reason: outcome.code });
      const fields = {
        code: outcome.code,
        reason: outcome.reason,
        event_type: outcome.eventType,
        instrument_token: typeof outcome.instrumentToken === 'number' ? outcome.instrumentToken : null,
        payload: preview(raw),
      };
      // One line either way: fields of the JSON line in production, key=value text in dev; at warn
      // once per reason and period, the rest at debug (a broken publisher sends thousands).
      this.rejections.report(
        outcome.code,
        this.config.LOG_FORMAT === 'json'
          ? { message: 'subscription event rejected', ...fields }
          : `subscription event rejected: ${Object.entries(fields)
              .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
              .join(' ')}`,
      );
      return Promise.resolve();
    }
    this.reconciler.noteEvent(outcome.event.instrumentToken, outcome.event.action);
    const open = (this.open ??= openBatch());
    open.arrivals.push({ event: outcome.event, arrivedAt });
    // Let the rest of a burst that is already in the socket buffer join the first batch.
    this.draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    return open.applied;
  }

  /** Events received and not yet applied. */
  get backlog(): number {
    return this.open?.arrivals.length ?? 0;
  }

  /** True when every event received so far has been applied, counted and its backfill requested. */
  get idle(): boolean {
    return !this.draining && !this.open && this.subscriptions.pendingRequests === 0;
  }

  /**
   * Takes what has arrived as one batch and records it while the queue work of the batch before
   * runs; starts its queue work when that one is done; goes on until nothing is left.
   */
  private async drain(): Promise<void> {
    let previous = NOTHING;
    try {
      for (;;) {
        const batch = this.take();
        if (!batch) {
          await previous;
          // Events that arrived during that wait are this drain's too: nothing else starts one.
          if (this.open) continue;
          return;
        }
        const { queueWork } = await this.apply(batch.arrivals, previous);
        void queueWork.then(batch.settle);
        // The events that arrive meanwhile wait and make the next batch: one queue step at a time.
        await previous;
        previous = queueWork;
      }
    } finally {
      this.draining = undefined;
    }
  }

  private take(): OpenBatch | undefined {
    const batch = this.open;
    this.open = undefined;
    return batch;
  }

  /** Records `batch`; returns its queue work, started once `before` (never rejects) is done. */
  private async apply(batch: Arrival[], before: Promise<void>): Promise<{ queueWork: Promise<void> }> {
    const last = new Map<number, Arrival>();
    const firstArrival = new Map<number, Date>();
    for (const arrival of batch) {
      const token = arrival.event.instrumentToken;
      last.delete(token); // keep arrival order of the final events
      last.set(token, arrival);
      if (!firstArrival.has(token)) firstArrival.set(token, arrival.arrivedAt);
    }
    const created: SubscribedInstrument[] = [];
    const removed: number[] = [];
    for (const [token, { event }] of last) {
      if (event.action === 'created')
        created.push({
          instrumentToken: token,
          tradingsymbol: event.tradingsymbol,
          segment: event.segment,
          requestedMode: event.requestedMode,
          accountId: event.accountId,
          requestedAt: firstArrival.get(token)!,
        });
      else removed.push(token);
    }
    const at = batch[batch.length - 1].arrivedAt;
    const outcome = new Map<number, 'processed' | 'ignored' | 'failed'>();
    const queueWork: Promise<void>[] = [];
    try {
      const { backfill } = await this.subscriptions.subscribe(created, 'event', at, before);
      queueWork.push(backfill);
      for (const item of created) outcome.set(item.instrumentToken, 'processed');
    } catch (error) {
      for (const item of created) outcome.set(item.instrumentToken, 'failed');
      this.reconciler.scheduleRecovery();
      this.logger.error(
        `recording ${created.length} subscription(s) failed (tokens ${tokensOf(created.map((c) => c.instrumentToken))}); ` +
          `the next reconciliation restores them: ${(error as Error).message}`,
      );
    }
    try {
      const { known, backfill } = await this.subscriptions.unsubscribe(removed, at, 'event', before);
      queueWork.push(backfill);
      const knownTokens = new Set(known);
      for (const token of removed) {
        outcome.set(token, knownTokens.has(token) ? 'processed' : 'ignored');
        if (!knownTokens.has(token)) this.logger.log(`removal of unknown token=${token} ignored`);
      }
    } catch (error) {
      for (const token of removed) outcome.set(token, 'failed');
      this.reconciler.scheduleRecovery();
      this.logger.error(
        `recording ${removed.length} removal(s) failed (tokens ${tokensOf(removed)}); ` +
          `the next reconciliation applies them: ${(error as Error).message}`,
      );
    }
    for (const arrival of batch) {
      const { event } = arrival;
      // An event overtaken within its batch by a later one of the same token is history: processed.
      const final = last.get(event.instrumentToken) === arrival;
      const result = final ? (outcome.get(event.instrumentToken) ?? 'processed') : 'processed';
      this.metrics.subscriptionEvents.inc({ event_type: event.eventType, outcome: result });
    }
    // Both wait for `before`: a batch whose records failed still keeps the order of the ones after.
    return { queueWork: queueWork.length > 0 ? Promise.all(queueWork).then(() => undefined) : before };
  }
}

function openBatch(): OpenBatch {
  let settle!: () => void;
  const applied = new Promise<void>((resolve) => (settle = resolve));
  return { arrivals: [], applied, settle };
}

function preview(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
