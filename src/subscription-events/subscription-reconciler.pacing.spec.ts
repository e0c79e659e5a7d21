import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../app.settings';
import { MetricsService } from '../metrics/metrics.service';
import { build, stopBuiltReconcilers, World } from '../../test/support/reconciler';
import {
  RECONCILE_MIN_GAP_MS,
  RETRY_AFTER_MAX_MS,
  SubscriptionReconcilerService,
} from './subscription-reconciler.service';
import { TickerReadError } from './ticker-subscriptions.client';

afterEach(() => stopBuiltReconcilers());

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
