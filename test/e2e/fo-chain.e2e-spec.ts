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
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number;
  oi: number | null;
  iv: number | null;
  delta: number | null;
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

  it('is complete for a minute in which only some legs traded, and after the close: OI is a level', async () => {
    const next = MINUTE + MINUTE_MS;
    const chain = sim.universe.instruments.filter(
      (i) => (i.kind === 'CE' || i.kind === 'PE') && i.expiry === expiry,
    );
    const strikes = [...expected.keys()].sort((a, b) => a - b);
    // In the next minute: both legs of every third strike idle, the put of the following one idle.
    const idle = (strike: number, kind: string): boolean => {
      const i = strikes.indexOf(strike);
      return i % 3 === 0 || (i % 3 === 1 && kind === 'PE');
    };
    clock.set(new Date(next + 59_000));
    const traded = chain.filter((i) => !idle(i.strike!, i.kind));
    for (const instrument of traded) await sim.publishMinute(instrument.instrument_token, next);
    clock.set(new Date(next + MINUTE_MS + GRACE_MS + 1));
    const nextCandles = new Map(
      traded.flatMap((i) => {
        const candle = sim.candleFor(i.instrument_token, next);
        return candle ? [[i.instrument_token, candle] as const] : [];
      }),
    );
    expect(nextCandles.size).toBeGreaterThan(0);
    await waitFor('the next minute written', async () => {
      const [row] = await app.database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM candles_1m WHERE time = $1`,
        [new Date(next).toISOString()],
      );
      return row.n === nextCandles.size;
    });

    // Each leg: its own candle in the minute where it traded, else no prices, no volume and the OI
    // level of its last candle.
    const legOf = (side: 'call' | 'put', strike: number) => {
      const before = expected.get(strike)?.[side];
      if (!before) return null;
      const candle = nextCandles.get(before.token);
      return candle
        ? {
            instrument_token: before.token,
            open: candle.open,
            close: candle.close,
            volume: candle.volume,
            oi: candle.oi,
          }
        : {
            instrument_token: before.token,
            open: null,
            close: null,
            volume: 0,
            oi: before.oi,
            iv: null,
            delta: null,
          };
    };
    const check = (body: ChainBody): void => {
      expect(body.time).toBe(new Date(next).toISOString());
      expect(body.strikes.map((s) => s.strike)).toEqual(strikes);
      for (const row of body.strikes)
        for (const side of ['call', 'put'] as const) {
          const leg = legOf(side, row.strike);
          if (leg)
            expect({ strike: row.strike, side, ...row[side] }).toMatchObject({
              strike: row.strike,
              side,
              ...leg,
            });
          else expect(row[side]).toBeNull();
        }
      const legs = strikes.flatMap((strike) => [legOf('call', strike), legOf('put', strike)]);
      const total = (side: 'call' | 'put', field: 'volume' | 'oi'): number =>
        strikes.reduce((sum, strike) => sum + (legOf(side, strike)?.[field] ?? 0), 0);
      expect(legs.some((leg) => leg?.open === null)).toBe(true);
      const pain = (k: number): number =>
        strikes.reduce(
          (sum, strike) =>
            sum +
            (legOf('call', strike)?.oi ?? 0) * Math.max(k - strike, 0) +
            (legOf('put', strike)?.oi ?? 0) * Math.max(strike - k, 0),
          0,
        );
      expect(body.summary).toEqual({
        total_call_volume: total('call', 'volume'),
        total_put_volume: total('put', 'volume'),
        total_call_oi: total('call', 'oi'),
        total_put_oi: total('put', 'oi'),
        pcr_oi: expect.closeTo(total('put', 'oi') / total('call', 'oi'), 9) as number,
        pcr_volume: expect.closeTo(total('put', 'volume') / total('call', 'volume'), 9) as number,
        max_pain_strike: strikes.reduce((best, k) => (pain(k) < pain(best) ? k : best), strikes[0]),
      });
    };
    check(
      (
        await request(app.url)
          .get('/api/v1/options/NIFTY/chain')
          .query({ expiry, at: new Date(next + 30_000).toISOString() })
          .expect(200)
      ).body as ChainBody,
    );
    // After the close (16:00 IST), without `at`: the session's last minute with a candle, complete.
    clock.set(new Date('2025-11-04T10:30:00Z'));
    check(
      (await request(app.url).get('/api/v1/options/NIFTY/chain').query({ expiry }).expect(200))
        .body as ChainBody,
    );
    // The earlier minute is unchanged by the later one.
    const earlier = (
      await request(app.url)
        .get('/api/v1/options/NIFTY/chain')
        .query({ expiry, at: new Date(MINUTE + 30_000).toISOString() })
        .expect(200)
    ).body as ChainBody;
    expect(earlier.time).toBe(new Date(MINUTE).toISOString());
    expect(earlier.strikes.map((s) => s.strike)).toEqual(strikes);
  });
});
