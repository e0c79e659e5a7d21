// State and operations shared by the HTTP routes and the programmatic API.

import type { Clock } from '../src/contracts/market-time';
import type {
  SubscriptionStatus,
  TickerHistoryResponse,
  TickerSubscription,
} from '../src/contracts/ticker.contracts';
import { subscriptionEvent, SubscriptionChange } from './events';
import { HistoryQuery, WINDOW_QUIRK_MS, historyCandles } from './history';
import type { Universe } from './instruments';
import { DEFAULT_KNOBS, SimulatorKnobs, SimulatorStats, emptyStats, validateKnobs } from './knobs';
import type { MarketModel } from './market-model';
import { SlotLimiter, WindowCounter } from './rate-limiter';
import type { Publisher } from './redis-publisher';
import { DEFAULT_REQUESTED_MODE, REQUESTED_MODES, RequestedMode, SubscriptionStore } from './subscriptions';
import { TickFeed } from './tick-feed';

/** An error with the HTTP status the ticker answers it with. */
export class SimulatorError extends Error {
  constructor(
    readonly status: 400 | 404 | 429 | 502,
    message: string,
  ) {
    super(message);
  }
}

export interface Channels {
  events: string;
  options: string;
  underlying: string;
}

export interface CoreDeps {
  universe: Universe;
  model: MarketModel;
  clock: Clock;
  publisher: Publisher;
  channels: Channels;
  knobs: Partial<SimulatorKnobs>;
  log: (line: string) => void;
}

export class SimulatorCore {
  readonly subscriptions = new SubscriptionStore();
  readonly feed: TickFeed;
  readonly historyLimiter: SlotLimiter;
  /** `GET /subscriptions` budget per minute. */
  readonly listLimiter = new WindowCounter(60_000);
  readonly universe: Universe;
  readonly model: MarketModel;
  readonly clock: Clock;
  readonly channels: Channels;
  readonly log: (line: string) => void;
  stats: SimulatorStats = emptyStats();
  private currentKnobs: SimulatorKnobs;
  private readonly initialKnobs: SimulatorKnobs;

  constructor(private readonly deps: CoreDeps) {
    this.universe = deps.universe;
    this.model = deps.model;
    this.clock = deps.clock;
    this.channels = deps.channels;
    this.log = deps.log;
    this.initialKnobs = { ...DEFAULT_KNOBS, ...validateKnobs(deps.knobs) };
    this.currentKnobs = { ...this.initialKnobs };
    this.historyLimiter = new SlotLimiter(this.currentKnobs.historyRatePerSec);
    this.feed = new TickFeed({
      model: deps.model,
      universe: deps.universe,
      clock: deps.clock,
      publisher: deps.publisher,
      channels: deps.channels,
      knobs: () => this.currentKnobs,
      stats: this.stats,
      activeTokens: () => this.subscriptions.activeTokens(),
      log: deps.log,
    });
  }

  get knobs(): SimulatorKnobs {
    return this.currentKnobs;
  }

  setKnobs(partial: Partial<SimulatorKnobs>): SimulatorKnobs {
    this.currentKnobs = { ...this.currentKnobs, ...validateKnobs(partial) };
    this.historyLimiter.setRate(this.currentKnobs.historyRatePerSec);
    return { ...this.currentKnobs };
  }

  /** Back to the state right after start: no subscriptions, initial knobs, zero counters. */
  reset(): void {
    this.subscriptions.clear();
    this.feed.untrackAll();
    this.currentKnobs = { ...this.initialKnobs };
    this.historyLimiter.setRate(this.currentKnobs.historyRatePerSec);
    this.historyLimiter.reset();
    this.listLimiter.reset();
    this.feed.resetUnderlying();
    this.resetStats();
  }

  resetStats(): void {
    // The feed holds the same object: reset it in place.
    Object.assign(this.stats, emptyStats());
  }

  async subscribe(
    token: unknown,
    mode: unknown = DEFAULT_REQUESTED_MODE,
    accountId: unknown = null,
  ): Promise<TickerSubscription> {
    const reject = (status: 400 | 404, message: string): SimulatorError => {
      this.stats.subscriptions.rejected++;
      return new SimulatorError(status, message);
    };
    if (typeof token !== 'number' || !Number.isSafeInteger(token) || token <= 0) {
      throw reject(400, 'instrument_token must be a positive integer');
    }
    if (typeof mode !== 'string' || !(REQUESTED_MODES as readonly string[]).includes(mode)) {
      throw reject(400, `requested_mode must be one of ${REQUESTED_MODES.join(', ')}`);
    }
    if (accountId !== null && typeof accountId !== 'string') {
      throw reject(400, 'account_id must be a string or null');
    }
    const instrument = this.universe.get(token);
    if (!instrument) throw reject(404, `instrument ${token} not found`);
    const wasActive = this.subscriptions.isActive(token);
    const subscription = this.subscriptions.upsert(
      instrument,
      mode as RequestedMode,
      accountId,
      this.clock.now(),
    );
    if (!wasActive) this.feed.track(token);
    this.stats.subscriptions.created++;
    // Like the ticker, every successful POST announces itself, a repeated one too.
    await this.announce('created', subscription);
    return subscription;
  }

  async unsubscribe(token: number): Promise<TickerSubscription> {
    const subscription = this.subscriptions.deactivate(token, this.clock.now());
    if (!subscription) throw new SimulatorError(404, `no active subscription for instrument ${token}`);
    this.feed.untrack(token);
    this.stats.subscriptions.removed++;
    await this.announce('removed', subscription);
    return subscription;
  }

  listSubscriptions(
    status: SubscriptionStatus | undefined,
    limit: number,
    offset: number,
  ): TickerSubscription[] {
    this.stats.subscriptions.list++;
    return this.subscriptions.list(status, limit, offset);
  }

  /** The body of a successful `GET /history`; throws 404 for unknown tokens. */
  history(query: HistoryQuery): TickerHistoryResponse {
    const instrument = this.universe.get(query.token);
    if (!instrument || this.currentKnobs.historyUnknownTokens.includes(query.token)) {
      throw new SimulatorError(404, `instrument ${query.token} not found`);
    }
    const shift = this.currentKnobs.windowQuirk ? WINDOW_QUIRK_MS : 0;
    const candles = historyCandles(
      this.model,
      instrument,
      query.fromTs * 1000 - shift,
      query.toTs * 1000 - shift,
      this.clock.now().getTime(),
      query.withOi,
    );
    return {
      instrument_token: instrument.instrument_token,
      tradingsymbol: instrument.tradingsymbol,
      segment: instrument.segment,
      interval: query.interval,
      from_ts: query.fromTs,
      to_ts: query.toTs,
      candles,
    };
  }

  private async announce(change: SubscriptionChange, subscription: TickerSubscription): Promise<void> {
    if (!this.currentKnobs.eventsEnabled) {
      this.stats.events.suppressed++;
      return;
    }
    const event = subscriptionEvent(this.currentKnobs.eventShape, change, subscription, this.clock.now());
    try {
      await this.deps.publisher.publishMany([[this.channels.events, JSON.stringify(event)]]);
      this.stats.events.published++;
    } catch (error) {
      // Pub/sub is fire-and-forget for the ticker too: a lost event is not a failed subscription.
      this.deps.log(`event for ${subscription.instrument_token} not published: ${(error as Error).message}`);
    }
  }
}
