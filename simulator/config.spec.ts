import { OffsetClock } from '../src/contracts/market-time';
import { loadSimulatorConfig } from './config';

describe('loadSimulatorConfig', () => {
  it('has working defaults', () => {
    const config = loadSimulatorConfig({});
    expect(config).toMatchObject({
      port: 8081,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6379',
      channelPrefix: 'ticker:nifty',
    });
    expect(config.knobs).toEqual({});
    expect(config.clock).toBeUndefined();
  });

  it('reads every knob', () => {
    const config = loadSimulatorConfig({
      SIM_PORT: '9000',
      REDIS_CHANNEL_PREFIX: 'ticker:test',
      SIM_SEED: '7',
      SIM_REFERENCE_DATE: '2025-11-10',
      SIM_HOLIDAYS: '2025-11-05, 2025-12-25',
      SIM_SPECIAL_SESSIONS: '2025-11-08@18:00-19:00',
      SIM_UNDERLYINGS: 'NIFTY',
      SIM_CLOCK_START: '2025-11-03T09:15:00+05:30',
      SIM_LATENCY_MS: '50',
      SIM_FAIL_502_RATE: '0.1',
      SIM_FAIL_429_RATE: '0.2',
      SIM_FAULT_ROUTES: 'history,subscriptions',
      SIM_HISTORY_RATE_PER_SEC: '3',
      SIM_HISTORY_MAX_WAIT_MS: '30000',
      SIM_WINDOW_QUIRK: 'true',
      SIM_EVENTS_ENABLED: 'false',
      SIM_EVENT_SHAPE: 'design-note',
      SIM_TICK_RATE: '2',
      SIM_TICK_VOLUME_ZERO: '1',
      SIM_DOWN_TOKENS: '256265',
    });
    expect(config).toMatchObject({
      port: 9000,
      channelPrefix: 'ticker:test',
      seed: 7,
      referenceDate: '2025-11-10',
      holidays: ['2025-11-05', '2025-12-25'],
      specialSessions: ['2025-11-08@18:00-19:00'],
      underlyings: ['NIFTY'],
    });
    expect(config.clock).toBeInstanceOf(OffsetClock);
    expect(Math.abs(config.clock!.now().getTime() - Date.parse('2025-11-03T03:45:00Z'))).toBeLessThan(5_000);
    expect(config.knobs).toEqual({
      latencyMs: 50,
      fail502Rate: 0.1,
      fail429Rate: 0.2,
      faultRoutes: ['history', 'subscriptions'],
      historyRatePerSec: 3,
      historyMaxWaitMs: 30_000,
      windowQuirk: true,
      eventsEnabled: false,
      eventShape: 'design-note',
      tickRate: 2,
      tickVolumeZero: true,
      downTokens: [256265],
    });
  });

  it('fails with one clear message listing every problem', () => {
    let message = '';
    try {
      loadSimulatorConfig({
        SIM_PORT: 'eighty',
        SIM_FAIL_502_RATE: '1.5',
        SIM_EVENT_SHAPE: 'xml',
        SIM_WINDOW_QUIRK: 'maybe',
        SIM_CLOCK_START: '2025-11-03 09:15',
        SIM_UNDERLYINGS: 'NIFTY,SENSEX',
        SIM_SPECIAL_SESSIONS: '2025-11-08@19:00-18:00',
        REDIS_URL: 'localhost:6379',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid simulator configuration:/);
    for (const name of [
      'SIM_PORT',
      'SIM_FAIL_502_RATE',
      'SIM_EVENT_SHAPE',
      'SIM_WINDOW_QUIRK',
      'SIM_CLOCK_START',
      'SIM_UNDERLYINGS',
      'SIM_SPECIAL_SESSIONS',
      'REDIS_URL',
    ]) {
      expect(message).toContain(name);
    }
  });
});
