import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Subject } from 'rxjs';
import { AppConfig } from '../../src/app.settings';
import { FixedClock } from '../../src/contracts/market-time';
import { startLocalPeriodicJobs, stopLocalPeriodicJobs } from '../../src/backfill/periodic-jobs.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { TickerSubscriptionDto } from '../../src/subscription-events/dto/ticker-subscription.dto';
import { SubscriptionEventsTransport } from '../../src/subscription-events/subscription-events.transport';
import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { SubscriptionsRepository } from '../../src/subscriptions-store/subscriptions.repository';
import { SubscribedInstrument, SubscriptionsService } from '../../src/subscription-events/subscriptions.service';
import { TickerSubscriptionsClient } from '../../src/subscription-events/ticker-subscriptions.client';

// The reconciler among in-memory stand-ins, for its unit specs.

const stopPeriodic: Array<() => void> = [];

/** Stops the periodic timers of every reconciler built since the last call (call it in afterEach). */
export function stopBuiltReconcilers(): void {
  for (const stop of stopPeriodic.splice(0)) stop();
}

/** In-memory stand-ins that record what the reconciler asks for. */
export class World {
  active = new Set<number>();
  upstream: Array<Partial<TickerSubscriptionDto>> | Error = [];
  fetches = 0;
  /** Date.now() at each read (fake time in the tests that fake timers). */
  fetchTimes: number[] = [];
  subscribed: SubscribedInstrument[] = [];
  unsubscribed: number[] = [];
  gate?: Promise<void>;
  status = new Subject<string>();
}

export function build(
  world: World,
  settings: Partial<AppConfig> = {},
): { reconciler: SubscriptionReconcilerService; metrics: MetricsService } {
  const metrics = new MetricsService();
  const ticker = {
    fetchActive: async () => {
      world.fetches++;
      world.fetchTimes.push(Date.now());
      if (world.gate) await world.gate;
      if (world.upstream instanceof Error) throw world.upstream;
      return world.upstream as TickerSubscriptionDto[];
    },
  } as unknown as TickerSubscriptionsClient;
  const repository = { activeTokens: async () => [...world.active] } as unknown as SubscriptionsRepository;
  const subscriptions = {
    subscribe: async (items: SubscribedInstrument[]) => {
      world.subscribed.push(...items);
      for (const item of items) world.active.add(item.instrumentToken);
      return { backfill: Promise.resolve() };
    },
    unsubscribe: async (tokens: number[]) => {
      world.unsubscribed.push(...tokens);
      for (const token of tokens) world.active.delete(token);
      return { known: tokens, backfill: Promise.resolve() };
    },
    refreshActiveGauge: () => undefined,
  } as unknown as SubscriptionsService;
  const transport = { status: world.status.asObservable() } as unknown as SubscriptionEventsTransport;
  const config = Object.assign(new AppConfig(), settings);
  const timers = new SchedulerRegistry();
  const reconciler = new SubscriptionReconcilerService(
    new FixedClock('2025-11-03T04:00:00Z'),
    metrics,
    ticker,
    repository,
    subscriptions,
    transport,
    config,
    timers,
  );
  // The period as the app runs it without the queue: a per-process timer calling the marked method.
  const periodic = [
    {
      name: 'subscription-reconcile' as const,
      everyMs: config.RECONCILE_INTERVAL_SECONDS * 1000,
      run: () => reconciler.onPeriod(),
    },
  ];
  startLocalPeriodicJobs(timers, periodic, new Logger('test'));
  stopPeriodic.push(() => stopLocalPeriodicJobs(timers, periodic));
  return { reconciler, metrics };
}

