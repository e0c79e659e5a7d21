import request from 'supertest';
import { RunningSimulator, SimInstrument } from '../../simulator/simulator';
import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { uniqueName } from '../support/env';
import { testRedis } from '../support/redis';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 11:00:30 IST (the 5th is a holiday). The simulator's universe is the listing
// of 3 November: weeklies of 4 and 11 November, the monthly contracts expiring Tuesday 25 November.
const NOW = '2025-11-06T05:30:30.000Z';
const CHAIN_MINUTE = '2025-11-06T05:29:00.000Z'; // 10:59 IST, the last complete minute
const MONTHLY_EXPIRY = '2025-11-25';
const LIQUID = 333765378; // NIFTY25NOV24750CE
const FUTURE = 978125314; // NIFTY25NOVFUT

interface InstrumentRow {
  tradingsymbol: string | null;
  name: string | null;
  segment: string | null;
  exchange: string | null;
  instrument_type: string | null;
  strike: number | null;
  expiry: string | null;
  lot_size: number | null;
  tick_size: number | null;
}

async function instrumentRow(app: TestApp, token: number): Promise<InstrumentRow | undefined> {
  const [row] = await app.database.query<InstrumentRow>(
    `SELECT tradingsymbol, name, segment, exchange, instrument_type, strike,
            to_char(expiry, 'YYYY-MM-DD') AS expiry, lot_size, tick_size
       FROM instruments WHERE instrument_token = $1`,
    [token],
  );
  return row;
}

function monthlyLegs(sim: RunningSimulator): SimInstrument[] {
  return sim.universe.instruments.filter(
    (i) =>
      i.name === 'NIFTY' &&
      (i.kind === 'CE' || i.kind === 'PE') &&
      i.expiry === MONTHLY_EXPIRY &&
      Math.abs(i.strikeDistance) <= 1,
  );
}

async function startRig(
  env: Record<string, string>,
): Promise<{ sim: RunningSimulator; app: TestApp; clock: FixedClock }> {
  const clock = new FixedClock(NOW);
  const channelPrefix = `${uniqueName('sim')}:nifty`;
  const sim = await startHistorySimulator(channelPrefix, clock);
  const app = await startTestApp({
    clock,
    channelPrefix,
    env: {
      BACKFILL_ENABLED: 'true',
      SUBSCRIPTION_EVENTS_ENABLED: 'true',
      TICKER_SERVICE_URL: sim.url,
      BACKFILL_INTERVAL_SECONDS: '86400',
      BACKFILL_RATE_LIMIT_PER_SECOND: '50',
      BACKFILL_CONCURRENCY: '6',
      BACKFILL_LOOKBACK_SESSIONS: '1',
      ...env,
    },
  });
  return { sim, app, clock };
}

async function backfilled(app: TestApp, tokens: readonly number[]): Promise<void> {
  for (const token of tokens)
    await waitFor(`backfill of ${token}`, async () => {
      const res = await request(app.url)
        .get('/api/v1/backfill/jobs')
        .query({ instrument_token: token, state: 'succeeded' });
      return res.body.total >= 1;
    });
}

describe('instruments described from their tradingsymbols before their first tick', () => {
  let sim: RunningSimulator;
  let app: TestApp;
  let legs: SimInstrument[];

  beforeAll(async () => {
    ({ sim, app } = await startRig({ INSTRUMENT_LIST_SOURCE: 'off' }));
    legs = monthlyLegs(sim);
    expect(legs.length).toBe(6);
    for (const leg of legs) await sim.subscribe(leg.instrument_token);
    await sim.subscribe(FUTURE);
    await backfilled(app, [...legs.map((leg) => leg.instrument_token), FUTURE]);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
  });

  it('answers the chain of a monthly expiry whose contracts have candles and no tick', async () => {
    const response = await request(app.url)
      .get('/api/v1/options/NIFTY/chain')
      .query({ expiry: MONTHLY_EXPIRY, at: CHAIN_MINUTE })
      .expect(200);
    expect(response.body.expiry).toBe(MONTHLY_EXPIRY);
    expect(response.body.time).toBe(CHAIN_MINUTE);
    const strikes = [...new Set(legs.map((leg) => leg.strike))].sort((a, b) => a - b);
    expect(response.body.strikes.map((row: { strike: number }) => row.strike)).toEqual(strikes);
    for (const leg of legs) {
      const row = response.body.strikes.find((s: { strike: number }) => s.strike === leg.strike);
      const candle = sim.candleFor(leg.instrument_token, CHAIN_MINUTE)!;
      expect(row[leg.kind === 'CE' ? 'call' : 'put']).toMatchObject({
        instrument_token: leg.instrument_token,
        close: candle.close,
        volume: candle.volume,
      });
    }
  });

  it('stores expiry, strike, type, underlying and the NFO tick of 0.05 from the symbol alone', async () => {
    expect(await instrumentRow(app, LIQUID)).toEqual({
      tradingsymbol: 'NIFTY25NOV24750CE',
      name: 'NIFTY',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrument_type: 'CE',
      strike: 24750,
      expiry: MONTHLY_EXPIRY,
      // The symbol does not say the lot: it comes with the instrument list or the first tick.
      lot_size: null,
      tick_size: 0.05,
    });
    expect(await instrumentRow(app, FUTURE)).toMatchObject({
      name: 'NIFTY',
      instrument_type: 'FUT',
      expiry: MONTHLY_EXPIRY,
      tick_size: 0.05,
    });
  });

  it('gives UDF clients the expiry and the 0.05 tick of an option and a future', async () => {
    const option = await request(app.url)
      .get('/udf/symbols')
      .query({ symbol: 'NIFTY25NOV24750CE' })
      .expect(200);
    expect(option.body).toMatchObject({
      name: 'NIFTY25NOV24750CE',
      ticker: String(LIQUID),
      type: 'option',
      description: `NIFTY ${MONTHLY_EXPIRY} 24750 CE`,
      pricescale: 100,
      minmov: 5,
    });
    const future = await request(app.url)
      .get('/udf/symbols')
      .query({ symbol: String(FUTURE) })
      .expect(200);
    expect(future.body).toMatchObject({
      type: 'futures',
      description: `NIFTY ${MONTHLY_EXPIRY} FUT`,
      pricescale: 100,
      minmov: 5,
    });
  });
});

describe("instruments described by the simulator's instrument list, and a tick that disagrees", () => {
  let sim: RunningSimulator;
  let app: TestApp;
  let clock: FixedClock;

  beforeAll(async () => {
    ({ sim, app, clock } = await startRig({
      INSTRUMENT_LIST_SOURCE: 'ticker',
      FO_STREAM_ENABLED: 'true',
      FO_STREAM_FLUSH_GRACE_MS: '100',
    }));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
  });

  it('knows the lot size of a subscribed instrument before its first tick', async () => {
    await sim.subscribe(LIQUID);
    const listed = sim.universe.get(LIQUID)!;
    await waitFor('lot size from the list', async () => (await instrumentRow(app, LIQUID))?.lot_size != null);
    expect(await instrumentRow(app, LIQUID)).toMatchObject({
      tradingsymbol: listed.tradingsymbol,
      expiry: listed.expiry,
      strike: listed.strike,
      lot_size: listed.lot_size,
      tick_size: listed.tick_size,
    });
  });

  it('describes an instrument that only a manual backfill names', async () => {
    const weekly = sim.universe.instruments.find(
      (i) => i.kind === 'PE' && i.expiryKind === 'weekly' && i.strikeDistance === 2,
    )!;
    expect(await instrumentRow(app, weekly.instrument_token)).toBeUndefined();
    await request(app.url)
      .post('/api/v1/backfill')
      .send({ instrument_token: weekly.instrument_token })
      .expect(202);
    expect(await instrumentRow(app, weekly.instrument_token)).toEqual({
      tradingsymbol: weekly.tradingsymbol,
      name: 'NIFTY',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrument_type: 'PE',
      strike: weekly.strike,
      expiry: weekly.expiry,
      lot_size: weekly.lot_size,
      tick_size: weekly.tick_size,
    });
  });

  it("keeps a tick's own fields where they disagree with the list, and counts the disagreement", async () => {
    const listed = sim.universe.get(FUTURE)!;
    await sim.subscribe(FUTURE);
    await waitFor('the future described', async () => (await instrumentRow(app, FUTURE))?.lot_size != null);
    const before = await disagreements(app, 'lot_size', 'instrument_list');
    const [tick] = sim.ticksFor(FUTURE, '2025-11-06T05:30:00.000Z');
    const redis = testRedis();
    try {
      await redis.publish(
        `${app.channelPrefix}:options`,
        JSON.stringify({ ...tick, lot_size: listed.lot_size + 10 }),
      );
    } finally {
      redis.disconnect();
    }
    clock.set('2025-11-06T05:31:01.000Z');
    await waitFor('the tick described the future', async () => {
      return (await instrumentRow(app, FUTURE))?.lot_size === listed.lot_size + 10;
    });
    expect(await disagreements(app, 'lot_size', 'instrument_list')).toBe(before + 1);
    expect(await disagreements(app, 'expiry', 'instrument_list')).toBe(0);
  });
});

async function disagreements(app: TestApp, field: string, source: string): Promise<number> {
  const text = (await request(app.url).get('/metrics').expect(200)).text;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`instrument_tick_disagreements_total{field="${field}",source="${source}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}
