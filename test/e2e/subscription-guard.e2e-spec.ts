import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { FixedClock } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator, startSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { settled } from '../support/subscription-events';
import { waitFor } from '../support/wait-for';

// Monday 2025-11-03 11:30 IST, inside the session.
const NOW = '2025-11-03T06:00:00Z';
const SUBSCRIBED = 12;

/**
 * A ticker that restarts with an empty list answers `GET /subscriptions` with 200 and `[]`: taken at
 * its word, the reconciliation would unsubscribe everything. The simulator's reset is that restart.
 */
describe('reconciliation against a ticker list that suddenly drops most subscriptions', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let app: TestApp;
  let reconciler: SubscriptionReconcilerService;
  let tokens: number[];

  const activeHere = async (): Promise<number[]> =>
    (
      await app.database.query<{ instrument_token: string }>(
        `SELECT instrument_token FROM subscriptions WHERE status = 'active' ORDER BY instrument_token`,
      )
    ).map((row) => Number(row.instrument_token));

  const guarded = async (): Promise<number> =>
    (await app.app.get(MetricsService).reconcileGuarded.get()).values.reduce((sum, v) => sum + v.value, 0);

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('sg')}:nifty`;
    sim = await startSimulator({
      redisUrl: TEST_REDIS_URL,
      channelPrefix,
      clock,
      liveTickIntervalMs: 0,
      knobs: { liveTicks: false, subscriptionsRatePerMin: 0 },
    });
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        RECONCILE_MAX_REMOVAL_FRACTION: '0.5',
        RECONCILE_REMOVAL_GUARD_MIN_ACTIVE: '10',
        RECONCILE_MASS_REMOVAL_CONFIRMATIONS: '3',
      },
    });
    await settled(app, 15_000);
    reconciler = app.app.get(SubscriptionReconcilerService);
    tokens = sim.universe.instruments.slice(0, SUBSCRIBED).map((i) => i.instrument_token);
    for (const token of tokens) await sim.subscribe(token);
    await waitFor('every subscription active here', async () => (await activeHere()).length === SUBSCRIBED);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
  });

  it('holds back a mass removal, says so, and applies it only once consecutive reads confirm it', async () => {
    sim.reset();
    expect(sim.subscriptions('active')).toEqual([]);

    const first = await reconciler.reconcile('cycle');
    expect(first).toEqual(expect.objectContaining({ complete: true, removed: [] }));
    expect(first.held?.length).toBe(SUBSCRIBED);
    expect(await activeHere()).toHaveLength(SUBSCRIBED);
    expect(await guarded()).toBe(1);

    const second = await reconciler.reconcile('cycle');
    expect(second.removed).toEqual([]);
    expect(await activeHere()).toHaveLength(SUBSCRIBED);
    expect(await guarded()).toBe(2);

    // The third read in a row that shows the same: the ticker means it.
    const third = await reconciler.reconcile('cycle');
    expect(third.removed.sort((a, b) => a - b)).toEqual([...tokens].sort((a, b) => a - b));
    expect(await activeHere()).toEqual([]);
  });

  it('lets a read that no longer shows the mass removal reset the count, and applies small removals at once', async () => {
    for (const token of tokens) await sim.subscribe(token);
    await waitFor('every subscription active again', async () => (await activeHere()).length === SUBSCRIBED);

    sim.reset();
    expect((await reconciler.reconcile('cycle')).removed).toEqual([]);
    expect((await reconciler.reconcile('cycle')).removed).toEqual([]);
    // The ticker's list comes back, less two instruments: those two go at once, under the fraction.
    for (const token of tokens.slice(2)) await sim.subscribe(token);
    const partial = await reconciler.reconcile('cycle');
    expect(partial.removed.sort((a, b) => a - b)).toEqual(tokens.slice(0, 2).sort((a, b) => a - b));
    expect(await activeHere()).toHaveLength(SUBSCRIBED - 2);
    // A fresh mass removal starts counting from one again.
    sim.reset();
    expect((await reconciler.reconcile('cycle')).removed).toEqual([]);
    expect((await reconciler.reconcile('cycle')).removed).toEqual([]);
    expect(await activeHere()).toHaveLength(SUBSCRIBED - 2);
  });
});
