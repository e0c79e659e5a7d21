import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Subscription } from 'rxjs';
import { eventsConfig, EventsConfig } from './subscription-events.config';
import { RunsPeriodically } from '../backfill/periodic-jobs';
import { backoff } from '../common/backoff';
import { hasTimeout, startTimeout, stopTimer } from '../common/named-timers';
import { CLOCK, Clock } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { SubscriptionEventsTransport } from './subscription-events.transport';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';
import { SubscribedInstrument, SubscriptionsService } from './subscriptions.service';
import { TickerReadError, TickerSubscriptionsClient } from './ticker-subscriptions.client';
import { TickerSubscriptionDto } from './dto/ticker-subscription.dto';

/** `recovery`: after events that could not be applied (the database was unreachable). */
export type ReconcileReason = 'boot' | 'reconnect' | 'cycle' | 'manual' | 'recovery';

export interface ReconcileResult {
  reason: ReconcileReason;
  /** Tokens active upstream that were unknown or inactive here (treated as created). */
  added: number[];
  /** Tokens active here that are gone upstream (now inactive). */
  removed: number[];
  /** False when the ticker could not be read; nothing was changed then. */
  complete: boolean;
  /**
   * Tokens gone upstream that were kept active because they were too many at once (the mass-removal
   * guard); present only when the guard held a removal back.
   */
  held?: number[];
}

/** Attempts within one reconciliation, and the pause before each retry. */
export const RECONCILE_RETRY_DELAYS_MS = [250, 1000, 3000];
/** Pause before the reconciliation that recovers events which could not be applied. */
export const RECOVERY_DELAY_MS = 1000;
/** Background re-runs after a failed boot or reconnect reconciliation back off up to this. */
export const RECONCILE_BACKGROUND_MAX_DELAY_MS = 60_000;
const BACKGROUND_RETRY = { baseMs: 2000, maxMs: RECONCILE_BACKGROUND_MAX_DELAY_MS };
/** Names of this provider's timers in the SchedulerRegistry. */
export const RECONCILE_RETRY_TIMER = 'subscription-reconcile:retry';
export const RECONCILE_GAP_TIMER = 'subscription-reconcile:gap';
/**
 * Least time between the starts of two triggered reconciliations. Each one reads the ticker's whole
 * list, which is rate limited (100 requests/min): a reconnect storm must not spend that budget.
 */
export const RECONCILE_MIN_GAP_MS = 10_000;
/** A `Retry-After` longer than this is taken as this: a confused ticker must not silence us for hours. */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

export interface LastReconciliation {
  reason: ReconcileReason;
  complete: boolean;
  at: Date;
  added: number;
  removed: number;
  upstream_active?: number;
  /** Removals the mass-removal guard held back, and how many reads in a row have shown them. */
  held?: number;
  held_reads?: number;
  error?: string;
}

/**
 * Brings the service's subscriptions in line with the ticker's list, the truth that events only hint
 * at: a token active upstream but unknown or inactive here is subscribed (trigger `reconcile`); a
 * token active here but absent upstream is unsubscribed. Nothing changes unless the whole list was
 * read. Runs at boot and after every (re)connection of the event channel on each replica, and every
 * RECONCILE_INTERVAL_SECONDS once for the whole deployment (the `subscription-reconcile` periodic
 * job, which the backfill queue's worker hands to one replica).
 */
@Injectable()
export class SubscriptionReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SubscriptionReconciler');
  private current?: Promise<ReconcileResult>;
  private next?: Promise<ReconcileResult>;
  /** Tokens an event touched since the running reconciliation read the ticker's list. */
  private touched = new Map<number, 'created' | 'removed'>();
  private readonly abort = new AbortController();
  private statusSubscription?: Subscription;
  /** Background runs in a row that ended incomplete (the backoff of the next one). */
  private failedRuns = 0;
  private stopped = false;
  /** Real time (ms) at which the last run started, and before which the ticker asked not to be read. */
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private notBeforeMs = 0;
  /** Complete reads in a row whose removal the guard held back. */
  private massRemovalReads = 0;
  /** Pauses before each retry within one reconciliation. */
  retryDelaysMs: readonly number[] = RECONCILE_RETRY_DELAYS_MS;
  /** Least time between the starts of two triggered runs (tests shorten it). */
  minGapMs = RECONCILE_MIN_GAP_MS;
  last?: LastReconciliation;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly ticker: TickerSubscriptionsClient,
    private readonly repository: SubscriptionsRepository,
    private readonly subscriptions: SubscriptionsService,
    private readonly transport: SubscriptionEventsTransport,
    @Inject(eventsConfig.KEY) private readonly config: EventsConfig,
    private readonly timers: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriptions.refreshActiveGauge();
    // Every `connected` follows a SUBSCRIBE: whatever was published before it is read from the list.
    let first = true;
    this.statusSubscription = this.transport.status.subscribe((status) => {
      if (status !== 'connected') return;
      void this.inBackground(first ? 'boot' : 'reconnect', !first);
      first = false;
    });
    // Never blocks the boot; the ticker may well be down.
    void this.inBackground('boot', false);
  }

  /** The period's reconciliation, on the replica that took the period's job. */
  @RunsPeriodically('subscription-reconcile')
  async onPeriod(): Promise<void> {
    await this.inBackground('cycle');
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.statusSubscription?.unsubscribe();
    this.clearTimer(RECONCILE_RETRY_TIMER);
    this.clearTimer(RECONCILE_GAP_TIMER);
    this.abort.abort();
  }

  /** True while a reconciliation runs or waits to run. */
  get running(): boolean {
    return this.current !== undefined || this.next !== undefined || this.hasTimer(RECONCILE_GAP_TIMER);
  }

  private hasTimer(name: string): boolean {
    return hasTimeout(this.timers, name);
  }

  private setTimer(name: string, ms: number, fire: () => void): void {
    startTimeout(this.timers, name, ms, fire);
  }

  private clearTimer(name: string): void {
    stopTimer(this.timers, name);
  }

  /** Called by the event listener so that a reconciliation in flight does not undo a newer event. */
  noteEvent(token: number, action: 'created' | 'removed'): void {
    if (this.current) this.touched.set(token, action);
  }

  /**
   * Events were lost on our side (their changes could not be written): reconcile shortly, and keep
   * trying with backoff until a reconciliation completes.
   */
  scheduleRecovery(): void {
    if (this.stopped || this.hasTimer(RECONCILE_RETRY_TIMER)) return;
    this.setTimer(RECONCILE_RETRY_TIMER, RECOVERY_DELAY_MS, () => void this.inBackground('recovery'));
  }

  /** Concurrent calls coalesce: while one runs, all callers share a single follow-up run. */
  reconcile(reason: ReconcileReason): Promise<ReconcileResult> {
    if (!this.current) {
      this.current = this.run(reason).finally(() => (this.current = undefined));
      return this.current;
    }
    this.next ??= this.current.then(
      () => this.followUp(reason),
      () => this.followUp(reason),
    );
    return this.next;
  }

  private followUp(reason: ReconcileReason): Promise<ReconcileResult> {
    this.next = undefined;
    return this.reconcile(reason);
  }

  /**
   * Runs a triggered reconciliation without waiting for it; on failure tries again later, backing off.
   * Triggers coalesce into at most one run per `minGapMs` (and none before the ticker's `Retry-After`):
   * a trigger inside the gap holds one run for the gap's end, which covers every trigger until then,
   * since it reads the list after all of them. The two boot triggers (start and first connection) are
   * not held: they come moments apart, and the first connection must be followed by a read at once.
   * Direct `reconcile()` callers are not held either. Resolves when the run it started is over
   * (at once when it started none).
   */
  private async inBackground(reason: ReconcileReason, keepGap = true): Promise<void> {
    if (this.stopped || this.hasTimer(RECONCILE_GAP_TIMER)) return;
    const waitMs = Math.max(
      keepGap ? this.lastStartMs + this.minGapMs - Date.now() : 0,
      this.notBeforeMs - Date.now(),
    );
    if (waitMs > 0) {
      this.setTimer(RECONCILE_GAP_TIMER, waitMs, () => void this.inBackground(reason));
      return;
    }
    this.clearTimer(RECONCILE_RETRY_TIMER);
    const result = await this.reconcile(reason);
    if (this.stopped) return;
    if (result.complete) {
      this.failedRuns = 0;
      return;
    }
    const retryDelay = backoff(BACKGROUND_RETRY, this.failedRuns++);
    // The ticker's Retry-After, when longer, replaces the plain backoff.
    const delay = Math.max(retryDelay, this.notBeforeMs - Date.now());
    this.logger.warn(`will reconcile again in ${delay} ms`);
    this.setTimer(RECONCILE_RETRY_TIMER, delay, () => void this.inBackground(reason));
  }

  private async run(reason: ReconcileReason): Promise<ReconcileResult> {
    this.touched = new Map();
    this.lastStartMs = Date.now();
    let upstream: TickerSubscriptionDto[] | undefined;
    let lastError = '';
    // A run never holds its callers longer than its own longest pause; a longer Retry-After ends it
    // (nothing changes) and the background retry, or the next period, asks after it.
    const longestPauseMs = Math.max(0, ...this.retryDelaysMs);
    for (let attempt = 0; attempt <= this.retryDelaysMs.length && !this.stopped; attempt++) {
      const retryAfterMs = this.notBeforeMs - Date.now();
      if (retryAfterMs > 0 && retryAfterMs > longestPauseMs) {
        lastError ||= `the ticker asked not to be read for ${Math.ceil(retryAfterMs / 1000)} s (Retry-After)`;
        break;
      }
      const pauseMs = Math.max(attempt > 0 ? this.retryDelaysMs[attempt - 1] : 0, retryAfterMs);
      if (pauseMs > 0) await this.sleep(pauseMs);
      if (this.stopped) break;
      try {
        upstream = await this.ticker.fetchActive(this.abort.signal);
        break;
      } catch (error) {
        lastError = (error as Error).message;
        if (error instanceof TickerReadError && error.retryAfterMs !== undefined)
          this.notBeforeMs = Date.now() + Math.min(error.retryAfterMs, RETRY_AFTER_MAX_MS);
        this.logger.warn(
          `reconcile (${reason}) attempt ${attempt + 1}: ticker subscription list unreadable: ${lastError}`,
        );
      }
    }
    if (!upstream) return this.finish(reason, [], [], false, lastError || 'stopped');
    try {
      return await this.apply(reason, upstream);
    } catch (error) {
      this.logger.error(`reconcile (${reason}) could not be applied: ${(error as Error).message}`);
      return this.finish(reason, [], [], false, (error as Error).message);
    }
  }

  private async apply(reason: ReconcileReason, upstream: TickerSubscriptionDto[]): Promise<ReconcileResult> {
    const startedAt = this.clock.now();
    const localActive = new Set(await this.repository.activeTokens());
    const upstreamTokens = new Set(upstream.map((entry) => entry.instrument_token));
    // An event newer than the list wins: a removal is not undone, a creation is not removed.
    const added: SubscribedInstrument[] = upstream
      .filter(
        (entry) =>
          !localActive.has(entry.instrument_token) && this.touched.get(entry.instrument_token) !== 'removed',
      )
      .map((entry) => ({
        instrumentToken: entry.instrument_token,
        tradingsymbol: entry.tradingsymbol,
        segment: entry.segment,
        requestedMode: entry.requested_mode,
        accountId: entry.account_id,
        requestedAt: startedAt,
      }));
    const gone = [...localActive].filter(
      (token) => !upstreamTokens.has(token) && this.touched.get(token) !== 'created',
    );
    const held = this.holdMassRemoval(reason, gone, localActive.size, upstream.length);
    const removed = held ? [] : gone;
    for (const entry of added)
      this.logger.log(
        `reconcile (${reason}): token=${entry.instrumentToken} tradingsymbol=${entry.tradingsymbol ?? '?'} active upstream, not here: subscribing`,
      );
    for (const token of removed)
      this.logger.log(`reconcile (${reason}): token=${token} active here, gone upstream: unsubscribing`);
    // The list also fills in what events leave out (segment, tradingsymbol) for known instruments.
    const subscribed = await this.subscriptions.subscribe(added, 'reconcile', startedAt);
    const unsubscribed = await this.subscriptions.unsubscribe(removed, startedAt, 'reconcile');
    await Promise.all([subscribed.backfill, unsubscribed.backfill]);
    return this.finish(
      reason,
      added.map((entry) => entry.instrumentToken),
      removed,
      true,
      undefined,
      upstream.length,
      held ? gone : undefined,
    );
  }

  /**
   * True when `gone` is more than RECONCILE_MAX_REMOVAL_FRACTION of the active subscriptions (and
   * there are at least RECONCILE_REMOVAL_GUARD_MIN_ACTIVE): a ticker that lost its state answers 200
   * with an empty or short list, and taking it at its word would unsubscribe everything. The removal
   * is held back until RECONCILE_MASS_REMOVAL_CONFIRMATIONS complete reads in a row show it; a read
   * without a mass removal starts the count again. Additions are never held.
   */
  private holdMassRemoval(
    reason: ReconcileReason,
    gone: number[],
    active: number,
    upstream: number,
  ): boolean {
    const c = this.config;
    const massive =
      active >= c.RECONCILE_REMOVAL_GUARD_MIN_ACTIVE &&
      gone.length > c.RECONCILE_MAX_REMOVAL_FRACTION * active;
    if (!massive) {
      this.massRemovalReads = 0;
      return false;
    }
    this.massRemovalReads++;
    const confirmations = c.RECONCILE_MASS_REMOVAL_CONFIRMATIONS;
    if (confirmations > 0 && this.massRemovalReads >= confirmations) {
      this.logger.warn(
        `reconcile (${reason}): the ticker's list has shown ${gone.length} of ${active} active subscriptions gone on ${this.massRemovalReads} reads in a row: unsubscribing them`,
      );
      this.massRemovalReads = 0;
      return false;
    }
    this.metrics.reconcileGuarded.inc({ reason });
    this.logger.error(
      `reconcile (${reason}): the ticker's list (${upstream} active) would unsubscribe ${gone.length} of ${active} active subscriptions, more than RECONCILE_MAX_REMOVAL_FRACTION=${c.RECONCILE_MAX_REMOVAL_FRACTION}: removing none. ` +
        (confirmations > 0
          ? `Read ${this.massRemovalReads} of ${confirmations} in a row showing it; applied at the ${confirmations}th.`
          : 'RECONCILE_MASS_REMOVAL_CONFIRMATIONS=0: never applied by reconciliation.'),
    );
    return true;
  }

  private finish(
    reason: ReconcileReason,
    added: number[],
    removed: number[],
    complete: boolean,
    error?: string,
    upstreamActive?: number,
    held?: number[],
  ): ReconcileResult {
    this.metrics.reconciliations.inc({ reason, outcome: complete ? 'succeeded' : 'failed' });
    this.last = {
      reason,
      complete,
      at: this.clock.now(),
      added: added.length,
      removed: removed.length,
      ...(upstreamActive !== undefined ? { upstream_active: upstreamActive } : {}),
      ...(held ? { held: held.length, held_reads: this.massRemovalReads } : {}),
      ...(error ? { error } : {}),
    };
    if (complete)
      this.logger.log(
        `reconcile (${reason}) complete: ${upstreamActive ?? 0} active upstream, ${added.length} added, ${removed.length} removed`,
      );
    else this.logger.warn(`reconcile (${reason}) incomplete, nothing changed: ${error}`);
    return { reason, added, removed, complete, ...(held ? { held } : {}) };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.abort.signal.addEventListener('abort', wake);
    });
  }
}
