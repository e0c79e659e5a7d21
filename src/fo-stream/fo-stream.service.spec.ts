import { Logger } from '@nestjs/common';
import { AppConfig } from '../app.settings';
import { FixedClock, MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { InstrumentInfo } from '../market-data/market-data.types';
import { MetricsService } from '../metrics/metrics.service';
import { FoBarBuilder } from './fo-bar.builder';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoStreamService } from './fo-stream.service';

// Monday 3 and Tuesday 4 November 2025, 09:30 IST.
const MONDAY = Date.parse('2025-11-03T04:00:00Z');
const TUESDAY = MONDAY + 24 * 60 * MINUTE_MS;

const tick = (token: number, atMs: number, volume: number): string =>
  JSON.stringify({ token, symbol: 'NIFTY', type: 'CE', price: 100, volume, oi: 10, ts: atMs / 1000 });

describe('FoStreamService per-instrument state', () => {
  const ttlMinutes = 24 * 60;
  let clock: FixedClock;
  let builder: FoBarBuilder;
  let registered: InstrumentInfo[];
  let service: FoStreamService;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']));

  beforeEach(() => {
    clock = new FixedClock(new Date(MONDAY + 30_000));
    builder = new FoBarBuilder();
    registered = [];
    const flusher = {
      register: (info: InstrumentInfo) => registered.push(info),
    } as unknown as FoStreamFlusher;
    const config = Object.assign(new AppConfig(), {
      FO_STREAM_ENABLED: true,
      FO_STREAM_SESSION_GATE: true,
      FO_STREAM_STATE_TTL_MINUTES: ttlMinutes,
    });
    service = new FoStreamService(
      builder,
      flusher,
      new MarketCalendar(),
      new MetricsService(),
      config,
      clock,
    );
  });

  it('forgets instruments not seen for FO_STREAM_STATE_TTL_MINUTES, keeping those still ticking', () => {
    // A day's universe of strikes that will not trade again (expired, or rolled off the chain).
    for (let token = 1; token <= 500; token++) service.receive('options', tick(token, MONDAY + 1000, 100));
    expect(builder.instrumentCount).toBe(500);

    // The next morning only a few still tick; a day later than their last tick, the rest are gone.
    clock.set(new Date(TUESDAY + 30_000));
    for (let token = 1; token <= 3; token++) service.receive('options', tick(token, TUESDAY + 1000, 200));
    clock.set(new Date(TUESDAY + 2 * MINUTE_MS));
    service.receive('options', tick(1, TUESDAY + MINUTE_MS + 1000, 250));
    expect(builder.instrumentCount).toBe(3);
    expect(builder.tokensSeenSince(MONDAY).sort((a, b) => a - b)).toEqual([1, 2, 3]);

    // A forgotten instrument that ticks again is registered again, its first tick the new base.
    registered.length = 0;
    service.receive('options', tick(400, TUESDAY + MINUTE_MS + 2000, 900));
    expect(registered.map((info) => info.instrumentToken)).toEqual([400]);
    expect(builder.instrumentCount).toBe(4);
  });

  it('keeps the day base of an instrument quiet for most of a session, so a glitch after the lull adds nothing', () => {
    service.receive('options', tick(7, MONDAY + 1000, 100));
    // Nearly six hours later (15:20 IST), within the same session: a glitch total below the day's base,
    // then a real one. Forgotten, the glitch would become the base and the real total 120 of volume;
    // kept, the glitch adds nothing and the real total after the lull rebases (a gap of over a minute).
    const later = MONDAY + 350 * MINUTE_MS;
    clock.set(new Date(later + 30_000));
    service.receive('options', tick(7, later + 1000, 40));
    service.receive('options', tick(7, later + 11_000, 160));
    expect(builder.instrumentCount).toBe(1);
    const [bar] = builder.closeAll().filter((c) => c.time.getTime() === later);
    expect(bar.volume).toBe(0);
  });
});
