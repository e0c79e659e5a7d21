import Redis from 'ioredis';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { OptionTick } from '../../src/contracts/ticker.contracts';
import { MetricsService } from '../../src/metrics/metrics.service';
import { RunningSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp } from '../support/app-harness';
import { storedCandles } from '../support/candles';
import { createTestDatabase, TestDatabase } from '../support/database';
import { uniqueName } from '../support/env';
import { foStreamEnv, tradedDerivativeTokens, waitForSubscribers } from '../support/fo-stream';
import { deleteKeys, testRedis } from '../support/redis';
import { startTickSimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Monday 3 November 2025, 09:30 IST: a session minute on a trading day.
const START = Date.parse('2025-11-03T04:00:00Z');
const GRACE_MS = 300;
// A bar lands within the grace plus a few flusher passes; the deadline leaves room for a busy machine.
const LANDS_WITHIN_MS = 5_000;

// Tokens the simulator does not list: first seen on the stream, so each one is a new instrument.
const BAD_EXPIRY = 990_001;
const BAD_LOT_SIZE = 990_002;
const BAD_VOLUME = 990_003;
const REFUSED_INSTRUMENT = 990_004;
const REFUSED_BAR = 990_005;
const RAISING_INSTRUMENT = 990_006;
const RAISING_BAR = 990_007;

interface InstrumentRow {
  expiry: string | null;
  lot_size: number | null;
  tradingsymbol: string | null;
}

/**
 * One malformed tick must never stop the stream: the bars of every other instrument land within the
 * usual flush time, the bad one is rejected or parked and counted, and a restart is not re-poisoned.
 */
describe('FO stream with poison ticks (real Redis and PostgreSQL)', () => {
  const clock = new FixedClock(new Date(START));
  const channelPrefix = `${uniqueName('fp')}:nifty`;
  let database: TestDatabase;
  let sim: RunningSimulator;
  let redis: Redis;
  let app: TestApp | undefined;
  let good: number[];

  const start = async (): Promise<TestApp> => {
    const started = await startTestApp({
      clock,
      database,
      channelPrefix,
      env: { ...foStreamEnv(GRACE_MS), FO_STREAM_SESSION_GATE: 'true' },
    });
    await waitForSubscribers(redis, 'the tick subscription', [sim.channels.options]);
    return started;
  };

  const counter = async (
    target: TestApp,
    name: 'foTicksRejected' | 'foRowsParked',
    labels: Record<string, string>,
  ): Promise<number> =>
    (await target.app.get(MetricsService)[name].get()).values
      .filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key as never] === value))
      .reduce((sum, v) => sum + v.value, 0);

  /** A tick of a new instrument, built from a real one of the simulator, with `changes` applied. */
  const tickOf = (minute: number, token: number, changes: Record<string, unknown>): string => {
    const [first] = sim.ticksFor(good[0], minute);
    const tick: OptionTick = { ...first, token, tradingsymbol: `NIFTYPOISON${token}` };
    return JSON.stringify({ ...tick, ...changes });
  };

  /** Publishes the good instruments' minute plus `poison`, ends the minute and waits for every good bar. */
  const minuteWithPoison = async (target: TestApp, m: number, poison: string[]): Promise<void> => {
    const minute = START + m * MINUTE_MS;
    clock.set(new Date(minute + 59_000));
    for (const payload of poison) await redis.publish(sim.channels.options, payload);
    for (const token of good) await sim.publishMinute(token, minute);
    clock.set(new Date(minute + MINUTE_MS + GRACE_MS + 1));
    await waitFor(
      `minute ${m}: every good instrument's bar written despite the poison`,
      async () => {
        for (const token of good)
          if ((await storedCandles(target.database, token, minute, minute + MINUTE_MS)).length === 0)
            return false;
        return true;
      },
      { timeoutMs: LANDS_WITHIN_MS },
    );
  };

  const instrument = async (token: number): Promise<InstrumentRow | undefined> =>
    (
      await database.query<InstrumentRow>(
        `SELECT to_char(expiry, 'YYYY-MM-DD') AS expiry, lot_size, tradingsymbol FROM instruments WHERE instrument_token = $1`,
        [token],
      )
    )[0];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = testRedis();
    sim = await startTickSimulator(channelPrefix, clock, 1);
    good = tradedDerivativeTokens(sim).slice(0, 4);
    app = await start();
  });

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
    await deleteKeys(redis, channelPrefix).catch(() => undefined);
    redis?.disconnect();
    await database?.drop();
  });

  it('keeps writing every other instrument when a new one has a non-existent expiry, an int-overflowing lot size or a bigint-overflowing volume', async () => {
    await minuteWithPoison(app!, 0, [
      tickOf(START, BAD_EXPIRY, { expiry: '2025-13-45' }),
      tickOf(START, BAD_LOT_SIZE, { lot_size: 2 ** 31 }),
      tickOf(START, BAD_VOLUME, { volume: 2 ** 63, oi: 2 ** 64 }),
    ]);
    // What the columns cannot hold is left out; the rest of the instrument is kept.
    await waitFor('the instruments with bad fields registered', async () => {
      const [expiry, lot] = [await instrument(BAD_EXPIRY), await instrument(BAD_LOT_SIZE)];
      return expiry && lot ? true : undefined;
    });
    expect(await instrument(BAD_EXPIRY)).toEqual({
      expiry: null,
      lot_size: 75,
      tradingsymbol: `NIFTYPOISON${BAD_EXPIRY}`,
    });
    expect(await instrument(BAD_LOT_SIZE)).toEqual(
      expect.objectContaining({ lot_size: null, expiry: expect.any(String) }),
    );
    // A volume that neither bigint nor a JS number can carry costs the tick: it would feed the bar.
    expect(await counter(app!, 'foTicksRejected', { reason: 'invalid_field' })).toBeGreaterThanOrEqual(1);
    expect(await instrument(BAD_VOLUME)).toBeUndefined();
    expect(await storedCandles(database, BAD_VOLUME)).toEqual([]);
  });

  it('parks the rows the database still refuses for a data reason and writes the rest of their batch', async () => {
    // The database refuses these two for a data reason (SQLSTATE 23514) whatever the parser let through.
    await database.query(
      `ALTER TABLE instruments ADD CONSTRAINT poison_instrument CHECK (instrument_token <> ${REFUSED_INSTRUMENT})`,
    );
    await database.query(
      `ALTER TABLE candles_1m ADD CONSTRAINT poison_bar CHECK (instrument_token <> ${REFUSED_BAR})`,
    );
    const minute = START + MINUTE_MS;
    await minuteWithPoison(app!, 1, [
      tickOf(minute, REFUSED_INSTRUMENT, {}),
      tickOf(minute, REFUSED_BAR, {}),
    ]);
    await waitFor('both refusals parked', async () =>
      (await counter(app!, 'foRowsParked', { kind: 'instrument', reason: '23514' })) >= 1 &&
      (await counter(app!, 'foRowsParked', { kind: 'bar', reason: '23514' })) >= 1
        ? true
        : undefined,
    );
    // The refused instrument's own bar is fine (bars do not need the instrument row), and the
    // refused bar's instrument is registered: only the refused rows themselves are missing.
    expect(await storedCandles(database, REFUSED_INSTRUMENT, minute, minute + MINUTE_MS)).toHaveLength(1);
    expect(await instrument(REFUSED_INSTRUMENT)).toBeUndefined();
    expect(await instrument(REFUSED_BAR)).toBeDefined();
    expect(await storedCandles(database, REFUSED_BAR)).toEqual([]);
    const ready = (await (await fetch(`${app!.url}/health/ready`)).json()) as {
      details: { fo_stream: { parked_rows: number; last_parked: Record<string, unknown> } };
    };
    expect(ready.details.fo_stream.parked_rows).toBeGreaterThanOrEqual(2);
    expect(ready.details.fo_stream.last_parked).toEqual(
      expect.objectContaining({ sqlstate: '23514', instrument_token: expect.any(Number) }),
    );
    // Nothing refused is retried: the backlog is empty once the minute is done.
    expect(ready.details).toEqual(
      expect.objectContaining({ fo_stream: expect.objectContaining({ backlog_bars: 0 }) }),
    );
  });

  it('is not poisoned again after a restart by the same ticks', async () => {
    await app!.close();
    app = undefined;
    app = await start();
    const m = 2;
    const minute = START + m * MINUTE_MS;
    await minuteWithPoison(app, m, [
      tickOf(minute, BAD_EXPIRY, { expiry: '2025-13-45' }),
      tickOf(minute, BAD_VOLUME, { volume: 2 ** 63 }),
      tickOf(minute, REFUSED_INSTRUMENT, {}),
      tickOf(minute, REFUSED_BAR, {}),
    ]);
    await waitFor('the refused rows parked again', async () =>
      (await counter(app!, 'foRowsParked', { kind: 'bar', reason: '23514' })) >= 1 ? true : undefined,
    );
    expect(await storedCandles(database, BAD_EXPIRY, minute, minute + MINUTE_MS)).toHaveLength(1);
  });

  it('parks the rows a trigger refuses with an error of another class, and keeps writing every other instrument', async () => {
    // Neither class 22 nor 23: a trigger's own exception (P0001) and an internal error (XX000). The
    // table comes as the trigger's argument: on a hypertable the trigger fires on each chunk, whose
    // name TG_TABLE_NAME gives.
    await database.query(`
      CREATE FUNCTION poison_raise() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_ARGV[0] = 'instruments' AND NEW.instrument_token = ${RAISING_INSTRUMENT} THEN
          RAISE EXCEPTION 'instrument % refused by a trigger', NEW.instrument_token USING ERRCODE = 'XX000';
        END IF;
        IF TG_ARGV[0] = 'candles_1m' AND NEW.instrument_token = ${RAISING_BAR} THEN
          RAISE EXCEPTION 'bar of % refused by a trigger', NEW.instrument_token;
        END IF;
        RETURN NEW;
      END $$`);
    await database.query(
      `CREATE TRIGGER poison_raise BEFORE INSERT OR UPDATE ON instruments FOR EACH ROW EXECUTE FUNCTION poison_raise('instruments')`,
    );
    await database.query(
      `CREATE TRIGGER poison_raise BEFORE INSERT OR UPDATE ON candles_1m FOR EACH ROW EXECUTE FUNCTION poison_raise('candles_1m')`,
    );
    for (const m of [3, 4]) {
      const minute = START + m * MINUTE_MS;
      await minuteWithPoison(app!, m, [
        tickOf(minute, RAISING_INSTRUMENT, {}),
        tickOf(minute, RAISING_BAR, {}),
      ]);
    }
    await waitFor('both raising rows parked', async () =>
      (await counter(app!, 'foRowsParked', { kind: 'instrument', reason: 'XX000' })) >= 1 &&
      (await counter(app!, 'foRowsParked', { kind: 'bar', reason: 'P0001' })) >= 2
        ? true
        : undefined,
    );
    // Only the raising rows are missing: the other's bar and instrument are stored.
    expect(await instrument(RAISING_INSTRUMENT)).toBeUndefined();
    expect(await storedCandles(database, RAISING_INSTRUMENT, START + 3 * MINUTE_MS)).toHaveLength(2);
    expect(await instrument(RAISING_BAR)).toBeDefined();
    expect(await storedCandles(database, RAISING_BAR)).toEqual([]);
    const ready = (await (await fetch(`${app!.url}/health/ready`)).json()) as {
      details: {
        fo_stream: { backlog_bars: number; write_failures: number; last_parked: Record<string, unknown> };
      };
    };
    expect(ready.details.fo_stream).toEqual(expect.objectContaining({ backlog_bars: 0, write_failures: 0 }));
    expect(ready.details.fo_stream.last_parked).toEqual(
      expect.objectContaining({ sqlstate: 'P0001', instrument_token: RAISING_BAR }),
    );
  });
});
