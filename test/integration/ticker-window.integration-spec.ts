import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import Redis from 'ioredis';
import { requestTickerHistory } from '../../src/backfill/ticker-history.provider';
import { TickerWindowService } from '../../src/backfill/ticker-window.service';
import { AppConfig } from '../../src/app.settings';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator } from '../../simulator/simulator';
import { uniqueName } from '../support/env';
import { deleteKeys, testRedis } from '../support/redis';
import { startHistorySimulator } from '../support/simulator';

// Thursday 6 November 2025, 11:00 IST: the newest complete session is Tuesday's (the 5th is a holiday),
// so the probe asks for Tuesday 14:30-15:30 IST.
const clock = new FixedClock('2025-11-06T05:30:30Z');
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

describe('TickerWindowService against the simulator and a shared Redis', () => {
  let sim: RunningSimulator;
  let redis: Redis;
  const started: TickerWindowService[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    // The service outside an app logs through Nest's static logger: quiet, like the app harness.
    Logger.overrideLogger(false);
    sim = await startHistorySimulator(uniqueName('window'), clock);
    redis = testRedis();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(redis, prefix);
    redis?.disconnect();
    await sim?.stop();
  });

  afterEach(() => {
    for (const service of started.splice(0)) service.beforeApplicationShutdown();
    sim.setKnobs({ windowQuirk: false, historyUnknownTokens: [] });
  });

  /** A replica's window service, booted; `queuePrefix` shared between replicas of one deployment. */
  async function replica(
    queuePrefix: string,
    settings: Partial<AppConfig> = {},
  ): Promise<{ service: TickerWindowService; metrics: MetricsService }> {
    if (!prefixes.includes(queuePrefix)) prefixes.push(queuePrefix);
    const config = Object.assign(new AppConfig(), {
      QUEUE_PREFIX: queuePrefix,
      TICKER_SERVICE_URL: sim.url,
      HISTORY_TIMEOUT_MS: 2000,
      ...settings,
    });
    const metrics = new MetricsService();
    const service = new TickerWindowService(
      config,
      calendar,
      metrics,
      redis,
      clock,
      (token, window, shift, signal) => requestTickerHistory(config, token, window, shift, signal),
      new SchedulerRegistry(),
    );
    service.onApplicationBootstrap();
    started.push(service);
    await service.ready(5000);
    return { service, metrics };
  }

  const requests = (): number => sim.stats().history.requests;

  it('in auto verifies 330 with one probe request, and a second replica adopts the finding without asking', async () => {
    sim.setKnobs({ windowQuirk: true });
    const prefix = uniqueName('qw');
    const before = requests();
    const first = await replica(prefix);
    expect(first.service.snapshot).toMatchObject({
      mode: 'auto',
      shiftMinutes: 330,
      verified: true,
      observedShiftMinutes: 330,
    });
    expect(requests() - before).toBe(1);
    expect((await first.metrics.backfillTickerWindowVerified.get()).values[0].value).toBe(1);
    expect((await first.metrics.backfillTickerWindowShift.get()).values[0].value).toBe(330);

    const second = await replica(prefix);
    expect(second.service.snapshot).toMatchObject({ shiftMinutes: 330, verified: true });
    expect(requests() - before).toBe(1);
  });

  it('in auto learns 0 from a fixed ticker: 330 comes back empty for a window that must have candles', async () => {
    const before = requests();
    const { service } = await replica(uniqueName('qw'));
    expect(service.snapshot).toMatchObject({
      mode: 'auto',
      shiftMinutes: 0,
      verified: true,
      observedShiftMinutes: 0,
    });
    expect(requests() - before).toBe(2);
  });

  it('keeps an override that disagrees, unverified, and reports what the ticker fits', async () => {
    sim.setKnobs({ windowQuirk: true });
    const { service, metrics } = await replica(uniqueName('qw'), { TICKER_WINDOW_SHIFT_MINUTES: 0 });
    expect(service.snapshot).toMatchObject({
      mode: 'override',
      shiftMinutes: 0,
      verified: false,
      observedShiftMinutes: 330,
    });
    expect((await metrics.backfillTickerWindowVerified.get()).values[0].value).toBe(0);
    // A wrong-window answer never changes an override, and no job is told to ask again.
    expect(await service.afterMismatch(0, 330)).toBe(false);
    expect(service.snapshot.shiftMinutes).toBe(0);
  });

  it('keeps the starting shift unverified while the probe instrument is unknown to the ticker', async () => {
    sim.setKnobs({ windowQuirk: true, historyUnknownTokens: [256265] });
    const { service } = await replica(uniqueName('qw'));
    expect(service.snapshot).toMatchObject({ mode: 'auto', shiftMinutes: 330, verified: false });
  });

  it('after a mismatch in auto probes again led by the offset, and tells the job to ask again', async () => {
    sim.setKnobs({ windowQuirk: true });
    const { service } = await replica(uniqueName('qw'));
    expect(service.snapshot).toMatchObject({ shiftMinutes: 330, verified: true });
    sim.setKnobs({ windowQuirk: false });
    const before = requests();
    // A job asked with 330 got an answer 330 minutes late: the ticker is fixed.
    expect(await service.afterMismatch(330, -330)).toBe(true);
    expect(service.snapshot).toMatchObject({ shiftMinutes: 0, verified: true, observedShiftMinutes: 0 });
    expect(requests() - before).toBe(1);
    // Another job of the same burst, asked with 330 too, is told to ask again without a new probe.
    expect(await service.afterMismatch(330, -330)).toBe(true);
    expect(requests() - before).toBe(1);
  });
});
