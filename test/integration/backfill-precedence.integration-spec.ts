import Redis from 'ioredis';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { RunningSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { storedCandles } from '../support/candles';
import { uniqueName } from '../support/env';
import { foStreamEnv, waitForSubscribers } from '../support/fo-stream';
import { testRedis } from '../support/redis';
import { startTickSimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Monday 3 November 2025 from 10:00 IST: session minutes on a trading day.
const FROM = Date.parse('2025-11-03T04:30:00Z');
const GRACE_MS = 200;

// The stream and the backfill on one database, the simulator as the ticker: its ticks build stream
// bars, its history answers the backfill.
describe('history answers inside their window over stream bars (simulator ticks and history)', () => {
  const clock = new FixedClock(new Date(FROM));
  let sim: RunningSimulator;
  let app: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('t')}:nifty`;
    // Six strikes each side: the far ones are illiquid, with minutes without any trade.
    sim = await startTickSimulator(channelPrefix, clock, 6);
    sim.setKnobs({ historyRatePerSec: 0 });
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        ...foStreamEnv(GRACE_MS),
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
      },
    });
    redis = testRedis();
    await waitForSubscribers(redis, 'the tick subscription', [sim.channels.options]);
  });

  afterAll(async () => {
    await sim?.stop();
    redis?.disconnect();
    await app?.close();
  });

  it('removes the stream bar of a minute history answered "no trade" and replaces the others', async () => {
    // An illiquid option and a minute M without trade right after a traded one.
    // (A minute without trade has no ticks; the clock is not moved for the search.)
    const traded = (t: number, m: number): boolean => sim.ticksFor(t, m).length > 0;
    let token = 0;
    let minute = 0;
    for (const instrument of sim.universe.instruments.filter((i) => i.noTradeProbability > 0)) {
      const t = instrument.instrument_token;
      for (let m = FROM + MINUTE_MS; m < FROM + 30 * MINUTE_MS && !minute; m += MINUTE_MS)
        if (traded(t, m - MINUTE_MS) && !traded(t, m)) {
          token = t;
          minute = m;
        }
      if (minute) break;
    }
    expect(minute).toBeGreaterThan(0);
    const before = minute - MINUTE_MS;
    clock.set(new Date(before + 59_000));
    await sim.publishMinute(token, before);
    // `ts` is the ticker's processing time: the last quote of the traded minute, handled a moment
    // late, is stamped into the minute without trade and makes a stream bar there.
    const last = sim.ticksFor(token, before).at(-1)!;
    await redis.publish(sim.channels.options, JSON.stringify({ ...last, ts: minute / 1000 }));
    clock.set(new Date(minute + MINUTE_MS + GRACE_MS + 1));
    await waitFor('both stream bars written', async () => {
      const rows = await storedCandles(app.database, token, before, minute + MINUTE_MS);
      return rows.length === 2 && rows.every((row) => row.source === 'stream');
    });

    // The FO stream's gap request after a reconnect asks for exactly this kind of window.
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const [{ jobIds }] = await requester.request([
      {
        instrumentToken: token,
        trigger: 'stream_gap',
        requestedAt: clock.now(),
        from: new Date(before),
        to: clock.now(),
      },
    ]);
    expect(jobIds).toHaveLength(1);
    await waitFor('the backfill job succeeded', async () => {
      const [job] = await app.database.query<{ state: string }>(
        `SELECT state FROM backfill_jobs WHERE id = $1`,
        [jobIds[0]],
      );
      return job?.state === 'succeeded';
    });
    const rows = await storedCandles(app.database, token, before, minute + MINUTE_MS);
    const expected = sim.candleFor(token, before)!;
    expect(rows.map((row) => [row.time.toISOString(), row.source, row.close, Number(row.volume)])).toEqual([
      [new Date(before).toISOString(), 'history', expected.close, expected.volume],
    ]);
  });
});
