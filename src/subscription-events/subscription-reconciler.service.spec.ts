import 'reflect-metadata';
import { waitFor } from '../../test/support/wait-for';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Subject } from 'rxjs';
import { AppConfig } from '../app.settings';
import { FixedClock } from '../contracts/market-time';
import { startLocalPeriodicJobs, stopLocalPeriodicJobs } from '../backfill/periodic-jobs.service';
import { MetricsService } from '../metrics/metrics.service';
import { TickerSubscriptionDto } from './dto/ticker-subscription.dto';
import { SubscriptionEventsTransport } from './subscription-events.transport';
import {
  RECONCILE_MIN_GAP_MS,
  RETRY_AFTER_MAX_MS,
  SubscriptionReconcilerService,
} from './subscription-reconciler.service';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';
import { SubscribedInstrument, SubscriptionsService } from './subscriptions.service';
import { TickerReadError, TickerSubscriptionsClient } from './ticker-subscriptions.client';

const stopPeriodic: Array<() => void> = [];
afterEach(() => {
  for (const stop of stopPeriodic.splice(0)) stop();
});

/** In-memory stand-ins that record what the reconciler asks for. */
class World {
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

function build(
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

describe('SubscriptionReconcilerService', () => {
  let reconciler: SubscriptionReconcilerService;
  beforeAll(() => Logger.overrideLogger(false));
  afterEach(() => reconciler?.onApplicationShutdown());

  it('subscribes what is active upstream only and unsubscribes what is gone upstream', async () => {
    const world = new World();
    world.active = new Set([1, 2]);
    world.upstream = [
      { instrument_token: 2, tradingsymbol: 'B', status: 'active' },
      { instrument_token: 3, tradingsymbol: 'C', segment: 'NFO-OPT', requested_mode: 'FULL' },
    ];
    ({ reconciler } = build(world));
    const result = await reconciler.reconcile('cycle');
    expect(result).toEqual({ reason: 'cycle', added: [3], removed: [1], complete: true });
    expect(world.subscribed).toEqual([
      expect.objectContaining({
        instrumentToken: 3,
        tradingsymbol: 'C',
        segment: 'NFO-OPT',
        requestedMode: 'FULL',
      }),
    ]);
    expect(world.subscribed[0].requestedAt).toEqual(new Date('2025-11-03T04:00:00Z'));
    expect(world.unsubscribed).toEqual([1]);
  });

  it('changes nothing when the list cannot be read, after retrying', async () => {
    const world = new World();
    world.active = new Set([1, 2, 3]);
    world.upstream = new TickerReadError('GET /subscriptions answered 500');
    let metrics: MetricsService;
    ({ reconciler, metrics } = build(world));
    reconciler.retryDelaysMs = [1, 5, 10];
    const result = await reconciler.reconcile('cycle');
    expect(result).toEqual({ reason: 'cycle', added: [], removed: [], complete: false });
    expect(world.fetches).toBe(4);
    expect(world.unsubscribed).toEqual([]);
    expect([...world.active]).toEqual([1, 2, 3]);
    expect(reconciler.last).toMatchObject({ complete: false, error: 'GET /subscriptions answered 500' });
    const text = await metrics.render();
    expect(text).toContain('subscription_reconciliations_total{reason="cycle",outcome="failed"} 1');
  });

  it('coalesces concurrent calls into one follow-up run', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 9 }];
    let open!: () => void;
    world.gate = new Promise((resolve) => (open = resolve));
    ({ reconciler } = build(world));
    const first = reconciler.reconcile('boot');
    const second = reconciler.reconcile('reconnect');
    const third = reconciler.reconcile('cycle');
    expect(second).toBe(third);
    world.gate = undefined;
    open();
    const results = await Promise.all([first, second, third]);
    expect(world.fetches).toBe(2);
    expect(results.map((r) => r.reason)).toEqual(['boot', 'reconnect', 'reconnect']);
    expect(results[0].added).toEqual([9]);
    expect(results[1].added).toEqual([]);
  });

  it('lets an event that arrives during a run win over the list it read', async () => {
    const world = new World();
    world.active = new Set([5]);
    world.upstream = [{ instrument_token: 6 }];
    let open!: () => void;
    world.gate = new Promise((resolve) => (open = resolve));
    ({ reconciler } = build(world));
    const run = reconciler.reconcile('cycle');
    // Token 5 was (re)created and token 6 removed after the list was produced.
    reconciler.noteEvent(5, 'created');
    reconciler.noteEvent(6, 'removed');
    open();
    const result = await run;
    expect(result).toEqual({ reason: 'cycle', added: [], removed: [], complete: true });
  });

  it('reconciles at boot and after every reconnect of the event connection', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 1 }];
    ({ reconciler } = build(world));
    reconciler.minGapMs = 20;
    reconciler.onApplicationBootstrap();
    await waitFor('the boot reconciliation', () => world.fetches >= 1 && reconciler.last !== undefined, {
      timeoutMs: 3000,
    });
    const before = world.fetches;
    world.status.next('connected'); // first connect: coalesces with the boot run or runs once
    world.status.next('reconnecting');
    world.status.next('connected');
    await waitFor(
      'the reconciliation after the reconnect',
      () => world.fetches >= before + 1 && reconciler.last?.reason === 'reconnect',
      { timeoutMs: 3000 },
    );
    expect(world.subscribed.map((s) => s.instrumentToken)).toEqual([1]);
  });
});

describe('SubscriptionReconcilerService recovery', () => {
  it('reconciles shortly after events could not be applied, and retries until it completes', async () => {
    Logger.overrideLogger(false);
    const world = new World();
    world.upstream = new TickerReadError('down');
    const { reconciler } = build(world);
    reconciler.retryDelaysMs = [];
    try {
      reconciler.scheduleRecovery();
      reconciler.scheduleRecovery(); // one pending recovery, not two
      await waitFor('the recovery reconciliation', () => reconciler.last?.reason === 'recovery', {
        timeoutMs: 3000,
      });
      expect(reconciler.last?.complete).toBe(false);
      expect(world.fetches).toBe(1);
    } finally {
      reconciler.onApplicationShutdown();
    }
  });
});

describe('SubscriptionReconcilerService pacing of reads of the ticker list', () => {
  let reconciler: SubscriptionReconcilerService;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2025-11-03T04:00:00Z') }));
  afterEach(() => {
    reconciler?.onApplicationShutdown();
    jest.useRealTimers();
  });

  /** Boots the reconciler and lets the boot and first-connection runs finish. */
  async function booted(world: World): Promise<void> {
    ({ reconciler } = build(world));
    reconciler.onApplicationBootstrap();
    world.status.next('connected');
    await jest.advanceTimersByTimeAsync(0);
    expect(reconciler.running).toBe(false);
  }

  it('waits for the Retry-After of a 429 before reading again, instead of the plain backoff', async () => {
    const world = new World();
    world.upstream = new TickerReadError('GET /subscriptions answered 429', 30_000);
    ({ reconciler } = build(world));
    reconciler.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    // 30 s exceed the run's own pauses: the run gives up at once, changing nothing.
    expect(world.fetches).toBe(1);
    expect(reconciler.last).toMatchObject({ complete: false, error: expect.stringContaining('429') });
    world.upstream = [{ instrument_token: 1 }];
    // The plain backoff would have read again after 2 s.
    await jest.advanceTimersByTimeAsync(29_999);
    expect(world.fetches).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(world.fetches).toBe(2);
    expect(reconciler.last).toMatchObject({ reason: 'boot', complete: true, added: 1 });
  });

  it('stretches a retry within a run to a short Retry-After', async () => {
    const world = new World();
    world.upstream = new TickerReadError('GET /subscriptions answered 503', 2000);
    ({ reconciler } = build(world));
    const run = reconciler.reconcile('cycle');
    await jest.advanceTimersByTimeAsync(0);
    expect(world.fetches).toBe(1);
    world.upstream = [{ instrument_token: 4 }];
    // The first plain pause is 250 ms; the ticker asked for 2 s.
    await jest.advanceTimersByTimeAsync(1999);
    expect(world.fetches).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(run).resolves.toMatchObject({ complete: true, added: [4] });
    expect(world.fetches).toBe(2);
  });

  it('caps a huge Retry-After, and a direct call inside it changes nothing without reading', async () => {
    const world = new World();
    world.active = new Set([8]);
    world.upstream = new TickerReadError('GET /subscriptions answered 429', 3_600_000);
    // The periodic read would come at the cap too; here it is the held retry's.
    ({ reconciler } = build(world, { RECONCILE_INTERVAL_SECONDS: 3600 }));
    reconciler.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(world.fetches).toBe(1);
    world.upstream = [];
    await expect(reconciler.reconcile('cycle')).resolves.toEqual({
      reason: 'cycle',
      added: [],
      removed: [],
      complete: false,
    });
    expect(world.fetches).toBe(1);
    expect(reconciler.last?.error).toContain('Retry-After');
    expect([...world.active]).toEqual([8]);
    await jest.advanceTimersByTimeAsync(RETRY_AFTER_MAX_MS - 1);
    expect(world.fetches).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(world.fetches).toBe(2);
    expect(reconciler.last).toMatchObject({ reason: 'boot', complete: true, removed: 1 });
  });

  it('reads the list every RECONCILE_INTERVAL_SECONDS on its own, and no more after shutdown', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 1 }];
    await booted(world);
    const afterBoot = world.fetches;
    const intervalMs = new AppConfig().RECONCILE_INTERVAL_SECONDS * 1000;
    await jest.advanceTimersByTimeAsync(intervalMs - 1);
    expect(world.fetches).toBe(afterBoot);
    await jest.advanceTimersByTimeAsync(1);
    expect(world.fetches).toBe(afterBoot + 1);
    expect(reconciler.last).toMatchObject({ reason: 'cycle', complete: true });
    await jest.advanceTimersByTimeAsync(intervalMs);
    expect(world.fetches).toBe(afterBoot + 2);
    reconciler.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(3 * intervalMs);
    expect(world.fetches).toBe(afterBoot + 2);
  });

  it('coalesces a storm of 20 reconnects into at most 2 reads, the last one after the last reconnect', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 1 }];
    await booted(world);
    // Past the boot run's gap.
    await jest.advanceTimersByTimeAsync(RECONCILE_MIN_GAP_MS);
    const before = world.fetches;
    let lastTrigger = 0;
    for (let i = 0; i < 20; i++) {
      world.status.next('reconnecting');
      world.status.next('connected');
      lastTrigger = Date.now();
      await jest.advanceTimersByTimeAsync(250);
    }
    await jest.advanceTimersByTimeAsync(5 * RECONCILE_MIN_GAP_MS);
    const reads = world.fetchTimes.slice(before);
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBeLessThanOrEqual(2);
    expect(Math.max(...reads)).toBeGreaterThan(lastTrigger);
    for (let i = 1; i < reads.length; i++)
      expect(reads[i] - reads[i - 1]).toBeGreaterThanOrEqual(RECONCILE_MIN_GAP_MS);
    expect(reconciler.last).toMatchObject({ reason: 'reconnect', complete: true });
    expect(reconciler.running).toBe(false);
  });

  it('holds a reconnect inside the gap until the gap ends, never dropping it', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 1 }];
    await booted(world);
    const before = world.fetches;
    await jest.advanceTimersByTimeAsync(1000);
    world.status.next('reconnecting');
    world.status.next('connected');
    await jest.advanceTimersByTimeAsync(0);
    expect(world.fetches).toBe(before);
    expect(reconciler.running).toBe(true);
    await jest.advanceTimersByTimeAsync(RECONCILE_MIN_GAP_MS - 1000);
    expect(world.fetches).toBe(before + 1);
    expect(reconciler.last?.reason).toBe('reconnect');
  });

  it('holds a reconnect that arrives during a slow run, then reads once more', async () => {
    const world = new World();
    world.upstream = [{ instrument_token: 1 }];
    await booted(world);
    await jest.advanceTimersByTimeAsync(RECONCILE_MIN_GAP_MS);
    let open!: () => void;
    world.gate = new Promise((resolve) => (open = resolve));
    const before = world.fetches;
    world.status.next('reconnecting');
    world.status.next('connected'); // reads at once, then waits on the gate
    await jest.advanceTimersByTimeAsync(0);
    expect(world.fetches).toBe(before + 1);
    world.status.next('reconnecting');
    world.status.next('connected'); // after the list was read: needs a read of its own
    world.gate = undefined;
    open();
    await jest.advanceTimersByTimeAsync(RECONCILE_MIN_GAP_MS - 1);
    expect(world.fetches).toBe(before + 1);
    await jest.advanceTimersByTimeAsync(1);
    expect(world.fetches).toBe(before + 2);
  });

  describe('mass removal guard', () => {
    const active = (n: number) => new Set(Array.from({ length: n }, (_, i) => i + 1));
    const entries = (tokens: number[]) => tokens.map((instrument_token) => ({ instrument_token }));

    it('holds back a removal of more than the fraction, and applies it on the confirming read', async () => {
      const world = new World();
      world.active = active(20);
      world.upstream = entries([1, 2, 3, 4, 5, 6, 7, 8, 9, 21]);
      let metrics: MetricsService;
      ({ reconciler, metrics } = build(world, {
        RECONCILE_MAX_REMOVAL_FRACTION: 0.4,
        RECONCILE_MASS_REMOVAL_CONFIRMATIONS: 2,
      }));
      const first = await reconciler.reconcile('cycle');
      // Additions are never held; the 11 removals (55%) are.
      expect(first).toMatchObject({ complete: true, added: [21], removed: [] });
      expect(first.held).toHaveLength(11);
      expect(reconciler.last).toMatchObject({ held: 11, held_reads: 1, removed: 0 });
      expect((await metrics.reconcileGuarded.get()).values[0]).toMatchObject({
        value: 1,
        labels: { reason: 'cycle' },
      });
      const second = await reconciler.reconcile('cycle');
      expect(second.removed).toHaveLength(11);
      expect(world.unsubscribed.sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    });

    it('never applies it with RECONCILE_MASS_REMOVAL_CONFIRMATIONS=0, and is off with a fraction of 1', async () => {
      const world = new World();
      world.active = active(10);
      world.upstream = [];
      ({ reconciler } = build(world, { RECONCILE_MASS_REMOVAL_CONFIRMATIONS: 0 }));
      for (let i = 0; i < 5; i++) expect((await reconciler.reconcile('cycle')).removed).toEqual([]);
      expect(world.active.size).toBe(10);
      reconciler.onApplicationShutdown();
      ({ reconciler } = build(world, { RECONCILE_MAX_REMOVAL_FRACTION: 1 }));
      expect((await reconciler.reconcile('cycle')).removed).toHaveLength(10);
    });

    it('does not apply below RECONCILE_REMOVAL_GUARD_MIN_ACTIVE', async () => {
      const world = new World();
      world.active = active(9);
      world.upstream = [];
      ({ reconciler } = build(world));
      expect((await reconciler.reconcile('cycle')).removed).toHaveLength(9);
    });
  });
});
