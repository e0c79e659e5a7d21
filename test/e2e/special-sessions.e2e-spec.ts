import Redis from 'ioredis';
import request from 'supertest';
import { FixedClock, MINUTE_MS, parseUpstreamTime } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { storedCandles } from '../support/candles';
import { uniqueName } from '../support/env';
import { foStreamEnv, waitForSubscribers } from '../support/fo-stream';
import { testRedis } from '../support/redis';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Sunday 1 February 2026, 12:00:30 IST: the Union Budget session (09:15-15:30), a special session of
// the default calendar. Five sessions back: 27, 28, 29 and 30 January (26th: Republic Day) and today.
const NOW = Date.parse('2026-02-01T06:30:30.000Z');
const LOOKBACK_FROM = '2026-01-27T03:45:00.000Z';
const FORMING = '2026-02-01T06:30:00.000Z';
const LIQUID = 333765378; // NIFTY25NOV24750CE
const GRACE_MS = 300;

describe('a special session (the Budget Sunday) in the planner, the backfill and the stream gate', () => {
  const clock = new FixedClock(new Date(NOW));
  let sim: RunningSimulator;
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('special')}:nifty`;
    sim = await startHistorySimulator(channelPrefix, clock);
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        ...foStreamEnv(GRACE_MS),
        BACKFILL_ENABLED: 'true',
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
      },
    });
    redis = testRedis();
    await waitForSubscribers(redis, 'the tick subscription', [sim.channels.options]);
  });

  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
    await sim?.stop();
  });

  it('plans and backfills the Sunday session like any other, exactly', async () => {
    await sim.subscribe(LIQUID);
    await waitFor('the lookback backfilled', async () => {
      const res = await request(app.url)
        .get('/api/v1/backfill/jobs')
        .query({ instrument_token: LIQUID, state: 'succeeded' });
      return res.body.total === 1;
    });
    const rows = await storedCandles(app.database, LIQUID);
    const expected = sim.history(LIQUID, LOOKBACK_FROM, new Date(NOW - 30_000), { oi: true });
    expect(rows.map((row) => new Date(row.time).toISOString())).toEqual(
      expected.map((c) => parseUpstreamTime(c.date).toISOString()),
    );
    expect(rows.map((r) => [r.open, r.high, r.low, r.close, Number(r.volume)])).toEqual(
      expected.map((c) => [c.open, c.high, c.low, c.close, c.volume]),
    );
    // Four regular sessions and the Sunday up to the minute forming now (12:00 IST).
    const sunday = rows.filter((row) => new Date(row.time).toISOString() >= '2026-02-01T00:00:00.000Z');
    expect(sunday).toHaveLength(165 + 1);
    expect(rows).toHaveLength(4 * 375 + 166);

    const coverage = await request(app.url).get(`/api/v1/instruments/${LIQUID}/coverage`).expect(200);
    expect(coverage.body.lookback_from).toBe(LOOKBACK_FROM);
    expect(coverage.body.gaps).toEqual([
      { from: FORMING, to: new Date(Date.parse(FORMING) + MINUTE_MS).toISOString(), minutes: 1 },
    ]);
  });

  it('lets the stream build Sunday bars and refuses ticks stamped on the Saturday before', async () => {
    const metrics = app.app.get(MetricsService);
    const offSession = async (): Promise<number> =>
      (await metrics.foTicksRejected.get()).values.find((v) => v.labels.reason === 'off_session')?.value ?? 0;
    const minute = Date.parse(FORMING) + MINUTE_MS; // 12:01 IST, Sunday
    const saturday = minute - 86_400_000;
    clock.set(new Date(minute + 5_000));
    const ticks = sim.ticksFor(LIQUID, minute);
    expect(ticks.length).toBeGreaterThan(1);
    const before = await offSession();
    for (const tick of ticks) {
      await redis.publish(sim.channels.options, JSON.stringify(tick));
      await redis.publish(
        sim.channels.options,
        JSON.stringify({ ...tick, ts: tick.ts - (minute - saturday) / 1000 }),
      );
    }
    clock.set(new Date(minute + MINUTE_MS + GRACE_MS + 1));
    await waitFor('the Sunday minute written from the stream', async () => {
      const [row] = await storedCandles(app.database, LIQUID, minute, minute + MINUTE_MS);
      return row?.source === 'stream' ? row : undefined;
    });
    expect(await offSession()).toBe(before + ticks.length);
    expect(await storedCandles(app.database, LIQUID, saturday - MINUTE_MS, saturday + MINUTE_MS)).toEqual([]);
  });
});
