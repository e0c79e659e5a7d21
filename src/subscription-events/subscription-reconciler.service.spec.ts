import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { build, stopBuiltReconcilers, World } from '../../test/support/reconciler';
import { waitFor } from '../../test/support/wait-for';
import { SubscriptionReconcilerService } from './subscription-reconciler.service';
import { TickerReadError } from './ticker-subscriptions.client';

afterEach(() => stopBuiltReconcilers());

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

