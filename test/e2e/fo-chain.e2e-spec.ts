import request from 'supertest';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { TickerHistoryCandle } from '../../src/contracts/ticker.contracts';
import { RunningSimulator } from '../../simulator/simulator';
import { TestApp } from '../support/app-harness';
import { FoStreamRig, startFoStreamRig } from '../support/fo-stream';
import { waitFor } from '../support/wait-for';

// Tuesday 4 November 2025, 10:15 IST.
const MINUTE = Date.parse('2025-11-04T04:45:00Z');
const GRACE_MS = 200;

interface Leg {
  instrument_token: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  oi: number | null;
  iv: number | null;
}
interface ChainBody {
  underlying: string;
  expiry: string;
  time: string;
  underlying_close: number | null;
  summary: {
    total_call_volume: number;
    total_put_volume: number;
    total_call_oi: number;
    total_put_oi: number;
    pcr_oi: number | null;
    pcr_volume: number | null;
    max_pain_strike: number | null;
  };
  strikes: { strike: number; call: Leg | null; put: Leg | null }[];
}

describe('option chain: stream bars through the chain views to GET /api/v1/options/{underlying}/chain', () => {
  const clock = new FixedClock(new Date(MINUTE + 59_000));
  let rig: FoStreamRig;
  let app: TestApp;
  let sim: RunningSimulator;
  let expiry: string;
  const expected = new Map<
    number,
    { call?: TickerHistoryCandle & { token: number }; put?: TickerHistoryCandle & { token: number } }
  >();

  beforeAll(async () => {
    rig = await startFoStreamRig({ clock, graceMs: GRACE_MS, strikesEachSide: 3 });
    ({ app, sim } = rig);
    const options = sim.universe.instruments.filter((i) => i.kind === 'CE' || i.kind === 'PE');
    expiry = options.map((i) => i.expiry!).sort()[0];
    await sim.publishMinute(256265, MINUTE);
    let published = 0;
    const chain = options.filter((i) => i.expiry === expiry);
    for (const instrument of chain) published += await sim.publishMinute(instrument.instrument_token, MINUTE);
    expect(published).toBeGreaterThan(0);
    clock.set(new Date(MINUTE + MINUTE_MS + GRACE_MS + 1));
    // Read after the minute has ended: the simulator serves a forming minute as a partial candle.
    for (const instrument of chain) {
      const candle = sim.candleFor(instrument.instrument_token, MINUTE);
      if (!candle) continue;
      const legs = expected.get(instrument.strike) ?? {};
      legs[instrument.kind === 'CE' ? 'call' : 'put'] = { ...candle, token: instrument.instrument_token };
      expected.set(instrument.strike, legs);
    }
    await waitFor('the chain written', async () => {
      const [row] = await app.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM fo_option_strike_bars WHERE underlying = 'NIFTY' AND expiry = $1`,
        [expiry],
      );
      return row.n === expected.size;
    });
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('returns the minute chain with totals, put-call ratios and max pain computed from the candles', async () => {
    const response = await request(app.url)
      .get('/api/v1/options/nifty/chain')
      .query({ expiry, at: new Date(MINUTE + 30_000).toISOString() })
      .expect(200);
    const body = response.body as ChainBody;
    expect(body.underlying).toBe('NIFTY');
    expect(body.expiry).toBe(expiry);
    expect(body.time).toBe(new Date(MINUTE).toISOString());
    expect(typeof body.underlying_close).toBe('number');

    const strikes = [...expected.keys()].sort((a, b) => a - b);
    expect(body.strikes.map((s) => s.strike)).toEqual(strikes);
    for (const row of body.strikes) {
      const legs = expected.get(row.strike)!;
      for (const side of ['call', 'put'] as const) {
        const candle = legs[side];
        if (!candle) {
          expect(row[side]).toBeNull();
          continue;
        }
        expect(row[side]).toMatchObject({
          instrument_token: candle.token,
          open: candle.open,
          high: candle.high,
          low: candle.low,
          close: candle.close,
          volume: candle.volume,
          oi: candle.oi,
        });
      }
    }

    const sum = (side: 'call' | 'put', field: 'volume' | 'oi'): number =>
      [...expected.values()].reduce((total, legs) => total + (legs[side]?.[field] ?? 0), 0);
    const pain = (k: number): number =>
      [...expected.entries()].reduce(
        (total, [strike, legs]) =>
          total +
          (legs.call?.oi ?? 0) * Math.max(k - strike, 0) +
          (legs.put?.oi ?? 0) * Math.max(strike - k, 0),
        0,
      );
    const maxPain = strikes.reduce((best, k) => (pain(k) < pain(best) ? k : best), strikes[0]);
    expect(body.summary.total_call_volume).toBe(sum('call', 'volume'));
    expect(body.summary.total_put_volume).toBe(sum('put', 'volume'));
    expect(body.summary.total_call_oi).toBe(sum('call', 'oi'));
    expect(body.summary.total_put_oi).toBe(sum('put', 'oi'));
    expect(body.summary.pcr_oi).toBeCloseTo(sum('put', 'oi') / sum('call', 'oi'), 9);
    expect(body.summary.pcr_volume).toBeCloseTo(sum('put', 'volume') / sum('call', 'volume'), 9);
    expect(body.summary.max_pain_strike).toBe(maxPain);
  });

  it('defaults to the nearest expiry and the latest minute', async () => {
    const body = (await request(app.url).get('/api/v1/options/NIFTY/chain').expect(200)).body as ChainBody;
    expect(body.expiry).toBe(expiry);
    expect(body.time).toBe(new Date(MINUTE).toISOString());
  });

  it('answers 400 for bad parameters and 404 when there is nothing', async () => {
    for (const path of [
      `/api/v1/options/NIFTY/chain?expiry=2025-13-40`,
      `/api/v1/options/NIFTY/chain?expiry=tomorrow`,
      `/api/v1/options/NIFTY/chain?at=yesterday`,
      `/api/v1/options/NI%20FTY/chain`,
      `/api/v1/options/NIFTY/chain?strike=1`,
    ]) {
      const response = await request(app.url).get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect((response.body as { errors?: unknown[] }).errors?.length).toBeGreaterThan(0);
    }
    await request(app.url).get('/api/v1/options/SENSEX/chain').expect(404);
    await request(app.url)
      .get('/api/v1/options/NIFTY/chain')
      .query({ expiry, at: new Date(MINUTE - MINUTE_MS).toISOString() })
      .expect(404);
    await request(app.url).get('/api/v1/options/NIFTY/chain').query({ expiry: '2024-01-25' }).expect(404);
  });

  it('is documented in the OpenAPI document', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    const operation = document.paths['/api/v1/options/{underlying}/chain']?.get;
    expect(operation?.parameters?.map((p) => p.name).sort()).toEqual(['at', 'expiry', 'underlying']);
  });
});
