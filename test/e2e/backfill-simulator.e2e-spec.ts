import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock, parseUpstreamTime } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { CandleRow, storedCandles } from '../support/candles';
import { uniqueName } from '../support/env';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 11:00:30 IST (the 5th is a holiday): five sessions back are 30 and 31 October,
// 3, 4 and 6 November. The minute 11:00 is still forming.
const NOW = '2025-11-06T05:30:30.000Z';
const LOOKBACK_FROM = '2025-10-30T03:45:00.000Z';
const LIQUID = 333765378; // NIFTY25NOV24750CE
const ILLIQUID = 1091680770; // NIFTY25N0425250CE, no trade in many minutes

describe('backfill against the simulator: subscription event to data', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let app: TestApp;

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('sim')}:nifty`;
    sim = await startHistorySimulator(channelPrefix, clock);
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        BACKFILL_ENABLED: 'true',
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
  });

  const stored = (token: number): Promise<CandleRow[]> => storedCandles(app.database, token);

  function expectEqualToSimulator(rows: CandleRow[], token: number): void {
    const expected = sim.history(token, LOOKBACK_FROM, new Date(Date.parse(NOW) - 30_000), { oi: true });
    expect(rows.map((row) => new Date(row.time).toISOString())).toEqual(
      expected.map((c) => parseUpstreamTime(c.date).toISOString()),
    );
    expect(
      rows.map((r) => [
        r.open,
        r.high,
        r.low,
        r.close,
        Number(r.volume),
        r.oi === null ? null : Number(r.oi),
      ]),
    ).toEqual(expected.map((c) => [c.open, c.high, c.low, c.close, c.volume, c.oi ?? null]));
    expect(rows.map((r) => [r.iv, r.delta, r.gamma, r.theta, r.vega, r.underlying_close])).toEqual(
      expected.map((c) => [
        c.iv ?? null,
        c.delta ?? null,
        c.gamma ?? null,
        c.theta ?? null,
        c.vega ?? null,
        c.underlying ?? null,
      ]),
    );
  }

  it('stores the full lookback equal to the simulator candles after a subscription event, and serves it', async () => {
    await sim.subscribe(LIQUID);
    await sim.subscribe(ILLIQUID);
    for (const token of [LIQUID, ILLIQUID]) {
      await waitFor(`backfill of ${token}`, async () => {
        const res = await request(app.url)
          .get('/api/v1/backfill/jobs')
          .query({ instrument_token: token, state: 'succeeded' });
        // The event and the reconciliation it may prompt ask for the same window: one job.
        return res.body.total === 1;
      });
    }
    const liquid = await stored(LIQUID);
    expect(liquid.length).toBeGreaterThan(1500);
    expectEqualToSimulator(liquid, LIQUID);
    const illiquid = await stored(ILLIQUID);
    // 1,620 session minutes, a good part of them without trades.
    expect(illiquid.length).toBeLessThan(1500);
    expectEqualToSimulator(illiquid, ILLIQUID);

    // Empty minutes are covered: the only gap left is the minute forming now.
    const coverage = await request(app.url).get(`/api/v1/instruments/${ILLIQUID}/coverage`).expect(200);
    expect(coverage.body.gaps).toEqual([
      { from: '2025-11-06T05:30:00.000Z', to: '2025-11-06T05:31:00.000Z', minutes: 1 },
    ]);

    const api = await request(app.url)
      .get(`/api/v1/instruments/${LIQUID}/candles`)
      .query({ from: '2025-11-06T03:45:00Z', to: '2025-11-06T05:30:00Z', interval: '15m' })
      .expect(200);
    expect(api.body.candles).toHaveLength(7);
    const firstQuarter = sim.history(LIQUID, '2025-11-06T03:45:00Z', '2025-11-06T03:59:00Z', { oi: true });
    expect(api.body.candles[0]).toMatchObject({
      time: '2025-11-06T03:45:00.000Z',
      open: firstQuarter[0].open,
      close: firstQuarter[firstQuarter.length - 1].close,
      volume: firstQuarter.reduce((sum, c) => sum + c.volume, 0),
      oi: firstQuarter[firstQuarter.length - 1].oi,
    });
  });

  it('completes exactly through 502 and 429 bursts of the simulator', async () => {
    sim.setKnobs({ fail502Rate: 0.4, fail429Rate: 0.2, retryAfterSeconds: 1 });
    const tokens = [904135682, 1484701186, 1034926082];
    try {
      for (const token of tokens) await sim.subscribe(token);
      for (const token of tokens) {
        await waitFor(
          `backfill of ${token} through faults`,
          async () => {
            const res = await request(app.url)
              .get('/api/v1/backfill/jobs')
              .query({ instrument_token: token, state: 'succeeded' });
            return res.body.total >= 1;
          },
          { timeoutMs: 30_000, intervalMs: 100 },
        );
      }
    } finally {
      sim.setKnobs({ fail502Rate: 0, fail429Rate: 0 });
    }
    for (const token of tokens) expectEqualToSimulator(await stored(token), token);
  }, 60_000);

  it('is complete against the 5h30 window quirk with TICKER_WINDOW_SHIFT_MINUTES=330, and stores nothing misplaced without it', async () => {
    sim.setKnobs({ windowQuirk: true });
    const token = 587533826; // NIFTY25N0424800CE
    try {
      for (const shift of ['0', '330']) {
        const other = await startTestApp({
          clock,
          env: {
            BACKFILL_ENABLED: 'true',
            TICKER_SERVICE_URL: sim.url,
            BACKFILL_INTERVAL_SECONDS: '86400',
            TICKER_WINDOW_SHIFT_MINUTES: shift,
          },
        });
        try {
          await other.app
            .get<BackfillRequester>(BACKFILL_REQUESTER)
            .request({ instrumentToken: token, trigger: 'manual', requestedAt: clock.now() });
          await waitFor('quirk job done', async () => {
            const res = await request(other.url)
              .get('/api/v1/backfill/jobs')
              .query({ instrument_token: token, state: 'succeeded' });
            return res.body.total === 1;
          });
          const rows = await storedCandles(other.database, token);
          const truth = new Map(
            sim
              .history(token, LOOKBACK_FROM, new Date(Date.parse(NOW) - 30_000))
              .map((c) => [parseUpstreamTime(c.date).toISOString(), c.close]),
          );
          // Whatever is stored sits at its true minute with its true value.
          for (const row of rows) expect(row.close).toBe(truth.get(new Date(row.time).toISOString()));
          if (shift === '330') expect(rows).toHaveLength(truth.size);
          else expect(rows.length).toBeLessThan(truth.size);
        } finally {
          await other.close();
        }
      }
    } finally {
      sim.setKnobs({ windowQuirk: false });
    }
  }, 30_000);
});
