import Redis from 'ioredis';
import { BACKFILL_REQUESTER, BackfillRequest, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { OptionTick } from '../../src/contracts/ticker.contracts';
import { FoStreamFlusher } from '../../src/fo-stream/fo-stream.flusher';
import { FoStreamSubscriber } from '../../src/fo-stream/fo-stream.subscriber';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator } from '../../simulator/simulator';
import { TestApp } from '../support/app-harness';
import { candleBar, storedBar, storedCandles } from '../support/candles';
import { FoStreamRig, startFoStreamRig } from '../support/fo-stream';
import { waitFor } from '../support/wait-for';

// Monday 3 November 2025, 09:30 IST: a session minute on a trading day.
const START = Date.parse('2025-11-03T04:00:00Z');
const GRACE_MS = 300;

describe('FO stream consumer (real Redis and PostgreSQL, simulator ticks)', () => {
  const clock = new FixedClock(new Date(START));
  let rig: FoStreamRig;
  let app: TestApp;
  let sim: RunningSimulator;
  let redis: Redis;
  let metrics: MetricsService;
  let flusher: FoStreamFlusher;
  let ce: number;
  let pe: number;
  let fut: number;
  const index = 256265;

  const rows = (token: number, from: number, to: number) => storedCandles(app.database, token, from, to);

  const rejected = async (reason: string): Promise<number> =>
    (await metrics.foTicksRejected.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  const publish = async (channel: 'options' | 'underlying', payload: string | object): Promise<void> => {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    await redis.publish(channel === 'options' ? sim.channels.options : sim.channels.underlying, text);
  };

  /** Ends minute `minuteMs` on the clock (grace included) and waits for the flusher's own timer. */
  const endMinute = (minuteMs: number): void => clock.set(new Date(minuteMs + MINUTE_MS + GRACE_MS + 1));

  beforeAll(async () => {
    rig = await startFoStreamRig({ clock, graceMs: GRACE_MS, strikesEachSide: 2, waitForUnderlying: true });
    ({ app, sim, redis } = rig);
    metrics = app.app.get(MetricsService);
    flusher = app.app.get(FoStreamFlusher);
    const liquid = sim.universe.instruments.filter((i) => i.noTradeProbability === 0);
    ce = liquid.find((i) => i.kind === 'CE')!.instrument_token;
    pe = liquid.find((i) => i.kind === 'PE')!.instrument_token;
    fut = liquid.find((i) => i.kind === 'FUT')!.instrument_token;
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('builds bars equal to the simulator history candles, flushing each minute by the clock alone', async () => {
    const tokens = [ce, pe, fut, index];
    for (let m = 0; m < 3; m++) {
      const minute = START + m * MINUTE_MS;
      clock.set(new Date(minute + 59_000));
      for (const token of tokens) await sim.publishMinute(token, minute);
      // No later tick is published: the clock and the flusher's timer close the minute.
      endMinute(minute);
      await waitFor(`minute ${m} written`, async () => {
        for (const token of tokens)
          if ((await rows(token, minute, minute + MINUTE_MS)).length === 0) return false;
        return true;
      });
    }
    for (const token of tokens) {
      const stored = await rows(token, START, START + 3 * MINUTE_MS);
      expect(stored).toHaveLength(3);
      for (const row of stored) {
        const expected = sim.candleFor(token, row.time)!;
        expect(storedBar(row)).toEqual(candleBar(expected, 'stream'));
        if (token !== index) {
          expect(Number(row.oi)).toBe(expected.oi);
          for (const greek of ['iv', 'delta', 'gamma', 'theta', 'vega'] as const)
            expect(row[greek]).toBe(expected[greek] ?? null);
        }
      }
    }
    // At least one minute with trades: a volume of 0 everywhere would prove nothing.
    const futRows = await rows(fut, START, START + 3 * MINUTE_MS);
    expect(futRows.some((row) => Number(row.volume) > 0)).toBe(true);
    const [future] = await app.database.query<{ instrument_type: string; name: string }>(
      `SELECT instrument_type, name FROM instruments WHERE instrument_token = $1`,
      [fut],
    );
    expect(future).toEqual({ instrument_type: 'FUT', name: 'NIFTY' });
    const written = (await metrics.foBarsWritten.get()).values[0]?.value ?? 0;
    expect(written).toBeGreaterThanOrEqual(12);
  });

  it('rewrites a retained minute whole after a late tick, and refuses a tick past the retention', async () => {
    const minute = START + 2 * MINUTE_MS;
    const [before] = await rows(ce, minute, minute + MINUTE_MS);
    const expected = sim.candleFor(ce, minute)!;
    expect(Number(before.volume)).toBe(expected.volume);
    const last = sim.ticksFor(ce, minute).at(-1)!;
    const late: OptionTick = { ...last, price: before.high + 10, volume: last.volume + 150, ts: last.ts };
    await publish('options', late);
    await waitFor('the revised minute written', async () => {
      const [row] = await rows(ce, minute, minute + MINUTE_MS);
      return row.high === before.high + 10 ? row : false;
    });
    const [after] = await rows(ce, minute, minute + MINUTE_MS);
    expect(after.open).toBe(expected.open);
    expect(after.high).toBe(Math.max(expected.high, late.price));
    expect(after.low).toBe(expected.low);
    expect(after.close).toBe(late.price);
    // The minute's true total: the simulator's volume plus the late tick's, written as a full bar.
    expect(Number(after.volume)).toBe(expected.volume + 150);

    // A minute that closed longer ago than the retention belongs to the history backfill.
    const tooLateBefore = await rejected('too_late');
    const old = START - MINUTE_MS;
    const [oldTick] = sim.ticksFor(ce, old);
    await publish('options', { ...oldTick, volume: last.volume + 10_000 });
    await waitFor('the stale tick refused', async () => (await rejected('too_late')) === tooLateBefore + 1);
    await flusher.flushDue();
    expect(await rows(ce, old, old + MINUTE_MS)).toHaveLength(0);
    const [unchanged] = await rows(ce, minute, minute + MINUTE_MS);
    expect(Number(unchanged.volume)).toBe(expected.volume + 150);
  });

  it('stores greeks of exactly 0.0 as null', async () => {
    const minute = START + 3 * MINUTE_MS;
    clock.set(new Date(minute + 59_000));
    for (const tick of sim.ticksFor(pe, minute))
      await publish('options', { ...tick, iv: 0, delta: 0, gamma: 0, theta: 0, vega: 0 });
    endMinute(minute);
    const [row] = await waitFor('the zero-greek minute', async () => {
      const found = await rows(pe, minute, minute + MINUTE_MS);
      return found.length > 0 ? found : false;
    });
    expect([row.iv, row.delta, row.gamma, row.theta, row.vega]).toEqual([null, null, null, null, null]);
    expect(Number(row.oi)).toBeGreaterThan(0);
  });

  it('drops off-session ticks and rejects bad payloads while the stream goes on', async () => {
    const minute = START + 4 * MINUTE_MS;
    clock.set(new Date(minute + 59_000));
    const [good] = sim.ticksFor(ce, minute);
    const offSessionBefore = await rejected('off_session');
    const counts = {
      invalid_json: await rejected('invalid_json'),
      missing_token: await rejected('missing_token'),
      invalid_price: await rejected('invalid_price'),
    };
    // 09:00 IST: before the open on a trading day.
    await publish('options', { ...good, ts: Math.floor(Date.parse('2025-11-03T03:30:00Z') / 1000) });
    await publish('options', '{"token": 1, "price": ');
    await publish('options', '{"token": 1, "price": NaN, "ts": 1762142400}');
    await publish('options', { ...good, token: undefined });
    await publish('options', { ...good, price: String(good.price) });
    await publish('underlying', { symbol: 'SENSEX', close: 80000, ts: good.ts });
    // A broken token beside a known symbol: not the symbol's index.
    await publish('underlying', {
      symbol: 'NIFTY',
      instrument_token: 'abc',
      last_price: 1,
      timestamp: good.ts,
    });
    await publish('underlying', { symbol: 'NIFTY', instrument_token: -5, close: 1, ts: good.ts });
    await publish('options', good);
    endMinute(minute);
    await waitFor(
      'the good tick written',
      async () => (await rows(ce, minute, minute + MINUTE_MS)).length > 0,
    );
    expect(await rejected('off_session')).toBe(offSessionBefore + 1);
    expect(await rejected('invalid_json')).toBe(counts.invalid_json + 2);
    expect(await rejected('missing_token')).toBe(counts.missing_token + 3);
    expect(await rows(index, minute, minute + MINUTE_MS)).toEqual([]);
    expect(await rejected('invalid_price')).toBe(counts.invalid_price + 1);
    expect(await rejected('unknown_symbol')).toBe(1);
    const offSession = await app.database.query(
      `SELECT 1 FROM candles_1m WHERE time < '2025-11-03T03:45:00Z'`,
    );
    expect(offSession).toHaveLength(0);
  });

  it('reconnects after its Redis connection is killed and asks the backfill for the gap', async () => {
    const subscriber = app.app.get(FoStreamSubscriber);
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const batches: (readonly BackfillRequest[])[] = [];
    const spy = jest.spyOn(requester, 'request').mockImplementation((batch) => {
      batches.push(batch);
      return Promise.resolve(batch.map(() => ({ jobIds: [] })));
    });
    try {
      const killedAt = clock.now();
      const list = await redis.client('LIST');
      const line = String(list)
        .split('\n')
        .find((entry) => entry.includes(`name=${subscriber.connectionName} `));
      const id = /id=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await redis.client('KILL', 'ID', id!);
      await waitFor('the gap requested', () => batches.length >= 1 && subscriber.connected);
      // One batch for every instrument that was ticking, under the stream's own trigger.
      expect(batches).toHaveLength(1);
      const [requests] = batches;
      expect(new Set(requests.map((r) => r.instrumentToken))).toEqual(new Set([ce, pe, fut, index]));
      for (const request of requests) {
        expect(request.trigger).toBe('stream_gap');
        expect(request.from?.getTime()).toBe(Math.floor(killedAt.getTime() / MINUTE_MS) * MINUTE_MS);
        expect(request.to?.getTime()).toBeGreaterThanOrEqual(killedAt.getTime());
      }
      await waitFor('resubscribed', async () => {
        const counts = (await redis.pubsub('NUMSUB', sim.channels.options)) as (string | number)[];
        return Number(counts[1]) >= 1;
      });
      const minute = START + 5 * MINUTE_MS;
      clock.set(new Date(minute + 59_000));
      await sim.publishMinute(fut, minute);
      endMinute(minute);
      await waitFor(
        'ticks after the reconnect written',
        async () => (await rows(fut, minute, minute + MINUTE_MS)).length > 0,
      );
      expect(flusher.backlog).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
  it('keys several underlyings on one channel by instrument and never takes the day open/high/low', async () => {
    const minute = START + 6 * MINUTE_MS;
    clock.set(new Date(minute + 59_000));
    const ts = (second: number): number => Math.floor((minute + second * 1000) / 1000);
    // (a) quote polls of two indices, interleaved; open/high/low are the day's and must not leak in.
    const polls: [string, number, number][] = [
      ['NIFTY', 1, 24500.5],
      ['BANKNIFTY', 2, 51200.25],
      ['NIFTY', 20, 24510],
      ['BANKNIFTY', 30, 51150],
      ['NIFTY', 40, 24490.75],
      ['BANKNIFTY', 50, 51175.5],
    ];
    for (const [symbol, second, close] of polls)
      await publish('underlying', {
        symbol,
        open: 1,
        high: 99_999,
        low: 0.5,
        close,
        volume: 123_456,
        ts: ts(second),
      });
    // (c) the off-hours bar shape, for a third index.
    await publish('underlying', {
      symbol: 'FINNIFTY',
      open: 1,
      high: 99_999,
      low: 0.5,
      close: 23_010.4,
      volume: 0,
      ts: ts(10),
      is_mock: false,
    });
    endMinute(minute);
    const bar = async (token: number) =>
      waitFor(`bar of ${token}`, async () => (await rows(token, minute, minute + MINUTE_MS))[0]);
    expect(await bar(256265)).toMatchObject({
      open: 24500.5,
      high: 24510,
      low: 24490.75,
      close: 24490.75,
      volume: '0',
    });
    expect(await bar(260105)).toMatchObject({
      open: 51200.25,
      high: 51200.25,
      low: 51150,
      close: 51175.5,
      volume: '0',
    });
    expect(await bar(257801)).toMatchObject({ open: 23010.4, high: 23010.4, low: 23010.4, close: 23010.4 });
    const [bank] = await app.database.query<{ name: string; segment: string }>(
      `SELECT name, segment FROM instruments WHERE instrument_token = 260105`,
    );
    expect(bank).toEqual({ name: 'BANKNIFTY', segment: 'INDICES' });
  });

  it("takes neither the ticker's bogus volume 0 nor a tick gap as volume: bars still equal history", async () => {
    // A liquid option no other test here publishes: its volume base starts with this test.
    const token = sim.universe.instruments.filter((i) => i.noTradeProbability === 0 && i.kind === 'CE')[1]
      .instrument_token;
    const [first, second, afterGap] = [7, 8, 11].map((m) => START + m * MINUTE_MS);
    // The ticker's bogus 0 (the simulator's `tickVolumeZero`) on one tick in the middle of the minute.
    sim.setKnobs({ tickVolumeZero: true });
    const zero = sim.ticksFor(token, first);
    sim.setKnobs({ tickVolumeZero: false });
    const ticks = sim.ticksFor(token, first);
    const bogus = Math.floor(ticks.length / 2);
    expect(zero[bogus].volume).toBe(0);
    expect(ticks[bogus].volume).toBeGreaterThan(0);
    clock.set(new Date(first + 59_000));
    for (let i = 0; i < ticks.length; i++) await publish('options', i === bogus ? zero[i] : ticks[i]);
    endMinute(first);
    clock.set(new Date(second + 59_000));
    await sim.publishMinute(token, second);
    endMinute(second);
    // Minutes 9 and 10 are missed (never published), as during a lost connection; 11 arrives.
    clock.set(new Date(afterGap + 59_000));
    await sim.publishMinute(token, afterGap);
    endMinute(afterGap);
    const stored = await waitFor('the three minutes written', async () => {
      const found = await rows(token, first, afterGap + MINUTE_MS);
      return found.length === 3 ? found : false;
    });
    expect(stored.map(storedBar)).toEqual(
      [first, second, afterGap].map((minute) => candleBar(sim.candleFor(token, minute)!, 'stream')),
    );
    expect(stored.every((row) => Number(row.volume) > 0)).toBe(true);
  });
});
