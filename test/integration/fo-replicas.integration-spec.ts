import Redis from 'ioredis';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { OptionTick } from '../../src/contracts/ticker.contracts';
import { FoStreamFlusher } from '../../src/fo-stream/fo-stream.flusher';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { Candle } from '../../src/market-data/market-data.types';
import { RunningSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { candleBar, storedBar, storedCandlesBetween } from '../support/candles';
import { foStreamEnv, tradedDerivativeTokens, waitForSubscribers } from '../support/fo-stream';
import { testRedis } from '../support/redis';
import { startTickSimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Monday 3 November 2025, 10:30 IST: a session minute on a trading day.
const START = Date.parse('2025-11-03T05:00:00Z');
const GRACE_MS = 300;
const MINUTES = 3;

const keyOf = (token: number, timeMs: number): string => `${token}:${timeMs}`;

// Two replicas of the consumer, as Kubernetes runs them: both subscribe to the same channels, both
// receive every tick and both write every minute to the same database.
describe('FO stream with two replicas writing the same minutes', () => {
  const clock = new FixedClock(new Date(START));
  const env = foStreamEnv(GRACE_MS);
  let first: TestApp;
  let second: TestApp;
  let sim: RunningSimulator;
  let redis: Redis;
  let tokens: number[];
  /** Per replica: every bar it committed, in commit order. */
  const committed: Candle[][] = [[], []];

  const rows = (from: number, to: number) => storedCandlesBetween(first.database, from, to);

  const committedBoth = (key: string, times = 1): boolean =>
    committed.every(
      (bars) => bars.filter((bar) => keyOf(bar.instrumentToken, bar.time.getTime()) === key).length >= times,
    );

  beforeAll(async () => {
    first = await startTestApp({ clock, env });
    second = await startTestApp({
      clock,
      env,
      database: first.database,
      channelPrefix: first.channelPrefix,
      queuePrefix: first.queuePrefix,
    });
    [first, second].forEach((app, i) =>
      app.app.get(FoStreamFlusher).onCommitted((bars) => committed[i].push(...bars)),
    );
    sim = await startTickSimulator(first.channelPrefix, clock, 1);
    tokens = tradedDerivativeTokens(sim);
    redis = testRedis();
    await waitForSubscribers(redis, 'both replicas subscribed', [sim.channels.options], 2);
  });

  afterAll(async () => {
    await sim?.stop();
    redis?.disconnect();
    // The second instance shares the first one's database and prefixes: the first one drops them.
    await second?.close();
    await first?.close();
  });

  it('stores each minute exactly as the simulator history candle, though both replicas wrote it', async () => {
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    for (let m = 0; m < MINUTES; m++) {
      const minute = START + m * MINUTE_MS;
      clock.set(new Date(minute + 59_000));
      for (const token of tokens) await sim.publishMinute(token, minute);
      clock.set(new Date(minute + MINUTE_MS + GRACE_MS + 1));
      await waitFor(`minute ${m} written by both replicas`, () =>
        tokens.every((token) => committedBoth(keyOf(token, minute))),
      );
    }
    const stored = await rows(START, START + MINUTES * MINUTE_MS);
    expect(stored).toHaveLength(tokens.length * MINUTES);
    for (const row of stored) {
      const expected = sim.candleFor(Number(row.instrument_token), row.time)!;
      expect({ ...storedBar(row), oi: Number(row.oi) }).toEqual({
        ...candleBar(expected, 'stream'),
        oi: expected.oi,
      });
    }
    // Traded minutes: with volume 0 everywhere a doubled volume would go unseen.
    expect(stored.filter((row) => Number(row.volume) > 0).length).toBeGreaterThan(tokens.length);
  });

  it('counts a late tick once although each replica rewrites the minute with it', async () => {
    const minute = START + (MINUTES - 1) * MINUTE_MS;
    const token = tokens[0];
    const expected = sim.candleFor(token, minute)!;
    const last = sim.ticksFor(token, minute).at(-1)!;
    const late: OptionTick = { ...last, price: expected.high + 5, volume: last.volume + 150 };
    await redis.publish(sim.channels.options, JSON.stringify(late));
    await waitFor('the revised minute written by both replicas', () =>
      committedBoth(keyOf(token, minute), 2),
    );
    const [row] = (await rows(minute, minute + MINUTE_MS)).filter(
      (r) => Number(r.instrument_token) === token,
    );
    expect([row.open, row.high, row.low, row.close, Number(row.volume)]).toEqual([
      expected.open,
      expected.high + 5,
      expected.low,
      expected.high + 5,
      expected.volume + 150,
    ]);
  });

  it('changes nothing when every last committed bar is written again (a retry after a lost reply)', async () => {
    const before = await rows(START, START + MINUTES * MINUTE_MS);
    const latest = new Map<string, Candle>();
    for (const bars of committed)
      for (const bar of bars) latest.set(keyOf(bar.instrumentToken, bar.time.getTime()), bar);
    expect(latest.size).toBe(tokens.length * MINUTES);
    const candles = second.app.get(CandlesRepository);
    await candles.mergeStreamBars([...latest.values()]);
    await candles.mergeStreamBars([...latest.values()]);
    expect(await rows(START, START + MINUTES * MINUTE_MS)).toEqual(before);
  });
});
