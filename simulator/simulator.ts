/**
 * Ticker service simulator: a stand-in for the upstream ticker service that speaks CONTRACTS.md
 * sections 1-3, quirks included. Started by `npm run sim` (simulator/main.ts) or in-process:
 *
 *   const sim = await startSimulator({ redisUrl, channelPrefix, clock: new FixedClock('2025-11-03T04:00:00Z') });
 *   await sim.subscribe(token);              // as POST /subscriptions, event included
 *   sim.ticksFor(token, minute);             // exact <prefix>:options payloads of a minute
 *   await sim.publishMinute(token, minute);  // publish them at once
 *   sim.candleFor(token, minute);            // the /history candle they aggregate to
 *   sim.setKnobs({ fail502Rate: 0.5 });      // faults and quirks at runtime
 *   sim.stats().history;                     // history requests by outcome
 *   await sim.stop();                        // closes the server, every socket and Redis
 *
 * Everything a client sees is a pure function of (seed, reference date, instrument, minute) and the
 * clock: the same request always returns the same numbers. See simulator/README.md.
 */

import { Clock, MarketCalendar, SystemClock, floorToMinute } from '../src/contracts/market-time';
import {
  DEFAULT_CHANNEL_PREFIX,
  OptionTick,
  SubscriptionStatus,
  TickerHistoryCandle,
  TickerSubscription,
  UnderlyingIndexTick,
  channelsFor,
} from '../src/contracts/ticker.contracts';
import { Channels, SimulatorCore } from './core';
import { historyCandles } from './history';
import { startHttpServer } from './http-server';
import type { Universe } from './instruments';
import type { SimulatorKnobs, SimulatorStats } from './knobs';
import { MarketOptions, createMarket } from './market';
import { NULL_PUBLISHER, Publisher, connectPublisher } from './redis-publisher';
import type { RequestedMode } from './subscriptions';
import { BulkPublishOptions, BulkPublishResult, toMs } from './tick-feed';

export type { BulkPublishOptions, BulkPublishResult } from './tick-feed';
export type { EventShape, FaultRoute, SimulatorKnobs, SimulatorStats } from './knobs';
export { DEFAULT_KNOBS } from './knobs';
export type { SimInstrument, Universe } from './instruments';
export { MARKET_DEFAULTS } from './market';
export type { RequestedMode } from './subscriptions';

export interface SimulatorOptions extends MarketOptions {
  /** Default 0: any free port (read it back from `port`). `npm run sim` uses 8081. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default redis://127.0.0.1:6379; null runs without Redis (events and ticks are dropped). */
  redisUrl?: string | null;
  /** Default `ticker:nifty`. */
  channelPrefix?: string;
  /** Default the system clock; FixedClock or OffsetClock make a run independent of the wall clock. */
  clock?: Clock;
  knobs?: Partial<SimulatorKnobs>;
  /** Period of the live tick loop (real time). Default 100 ms; 0 leaves it to `pumpLiveTicks()`. */
  liveTickIntervalMs?: number;
  /** Default: silent. */
  log?: (line: string) => void;
}

export interface RunningSimulator {
  /** Base URL, e.g. http://127.0.0.1:8081 (TICKER_SERVICE_URL for the service). */
  readonly url: string;
  readonly port: number;
  readonly channels: Channels;
  readonly universe: Universe;
  readonly calendar: MarketCalendar;
  readonly clock: Clock;
  readonly seed: number;
  /** Same as `POST /subscriptions` (publishes the event); throws for unknown tokens. */
  subscribe(
    token: number,
    options?: { requestedMode?: RequestedMode; accountId?: string | null },
  ): Promise<TickerSubscription>;
  /** Same as `DELETE /subscriptions/{token}`; throws when not active. */
  unsubscribe(token: number): Promise<TickerSubscription>;
  subscriptions(status?: SubscriptionStatus): TickerSubscription[];
  knobs(): SimulatorKnobs;
  setKnobs(partial: Partial<SimulatorKnobs>): SimulatorKnobs;
  /** A snapshot of the counters. */
  stats(): SimulatorStats;
  resetStats(): void;
  /** No subscriptions, initial knobs, zero counters. */
  reset(): void;
  /** The `<prefix>:options` payloads of a minute, as live publishing sends them (options and futures). */
  ticksFor(token: number, minuteStart: Date | string | number): OptionTick[];
  /** The index ticks (shape b) of a minute on `<prefix>:underlying`. */
  indexTicksFor(token: number, minuteStart: Date | string | number): UnderlyingIndexTick[];
  /** The minute's candle as `GET /history` serves it now (partial while forming), without faults or quirk. */
  candleFor(
    token: number,
    minuteStart: Date | string | number,
    options?: { oi?: boolean },
  ): TickerHistoryCandle | undefined;
  /** Candles starting in [from, to] as `GET /history` serves them, without faults or quirk. */
  history(
    token: number,
    from: Date | string | number,
    to: Date | string | number,
    options?: { oi?: boolean },
  ): TickerHistoryCandle[];
  /** Publishes the minute's ticks at once (index tokens on the underlying channel); returns the count. */
  publishMinute(token: number, minuteStart: Date | string | number): Promise<number>;
  /** Replays consecutive minutes of many instruments at a fixed rate, for benchmarks. */
  publishBulk(options: BulkPublishOptions): Promise<BulkPublishResult>;
  /** Runs one pass of the live tick loop now (useful with a FixedClock). */
  pumpLiveTicks(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const log = options.log ?? (() => undefined);
  const market = createMarket(options);
  const clock = options.clock ?? new SystemClock();
  const channels = channelsFor(options.channelPrefix ?? DEFAULT_CHANNEL_PREFIX);
  const redisUrl = options.redisUrl === undefined ? 'redis://127.0.0.1:6379' : options.redisUrl;
  const publisher: Publisher = redisUrl === null ? NULL_PUBLISHER : await connectPublisher(redisUrl, log);
  const core = new SimulatorCore({
    universe: market.universe,
    model: market.model,
    clock,
    publisher,
    channels,
    knobs: options.knobs ?? {},
    log,
  });
  let http;
  try {
    http = await startHttpServer(core, options.host ?? '127.0.0.1', options.port ?? 0);
  } catch (error) {
    await publisher.close();
    throw error;
  }
  const interval = options.liveTickIntervalMs ?? 100;
  if (interval > 0) core.feed.start(interval);
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  const instrument = (token: number) => {
    const found = market.universe.get(token);
    if (!found) throw new Error(`unknown instrument token ${token}`);
    return found;
  };
  let stopped: Promise<void> | undefined;

  return {
    url: `http://${host}:${http.port}`,
    port: http.port,
    channels,
    universe: market.universe,
    calendar: market.calendar,
    clock,
    seed: market.seed,
    subscribe: (token, opts = {}) =>
      core.subscribe(token, opts.requestedMode ?? 'FULL', opts.accountId ?? null),
    unsubscribe: (token) => core.unsubscribe(token),
    subscriptions: (status) => core.subscriptions.list(status, Number.MAX_SAFE_INTEGER, 0),
    knobs: () => ({ ...core.knobs }),
    setKnobs: (partial) => core.setKnobs(partial),
    stats: () => structuredClone(core.stats),
    resetStats: () => core.resetStats(),
    reset: () => core.reset(),
    ticksFor: (token, minute) => core.feed.ticksFor(token, minute),
    indexTicksFor: (token, minute) => core.feed.indexTicksFor(token, minute),
    candleFor: (token, minute, opts = {}) => {
      const start = floorToMinute(toMs(minute)).getTime();
      return historyCandles(
        market.model,
        instrument(token),
        start,
        start,
        clock.now().getTime(),
        opts.oi ?? true,
      )[0];
    },
    history: (token, from, to, opts = {}) =>
      historyCandles(
        market.model,
        instrument(token),
        toMs(from),
        toMs(to),
        clock.now().getTime(),
        opts.oi ?? true,
      ),
    publishMinute: (token, minute) => core.feed.publishMinute(token, minute),
    publishBulk: (bulk) => core.feed.bulkPublish(bulk),
    pumpLiveTicks: () => core.feed.tick(),
    stop: () =>
      (stopped ??= (async () => {
        await core.feed.stop();
        await http.close();
        await publisher.close();
      })()),
  };
}
