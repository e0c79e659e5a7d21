import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock, parseUpstreamTime } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
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

  describe("the ticker's 5h30 window quirk, mid-session", () => {
    // NIFTY25N0424800CE (liquid) and ILLIQUID. The window asked of the ticker is answered 5h30 early:
    // the lookback's answer stops at Tuesday's close and today's minutes come back empty, without a
    // single candle outside the window. Only a window whose earlier twin overlaps a session shows the
    // signal: Tuesday 14:45-15:30 IST is answered with 09:15-10:00.
    const tokens = [587533826, ILLIQUID];
    const signalWindow = { from: new Date('2025-11-04T09:15:00Z'), to: new Date('2025-11-04T10:00:00Z') };
    const lookbackMinutes = (): number[] =>
      sim.calendar
        .sessionMinutes(new Date(LOOKBACK_FROM), new Date(Date.parse(NOW) - 30_000))
        .map((m) => m.getTime());

    interface Coverage {
      covered: { from: string; to: string }[];
      gaps: { from: string; to: string }[];
    }
    const within = (ranges: { from: string; to: string }[], t: number): boolean =>
      ranges.some((r) => Date.parse(r.from) <= t && t < Date.parse(r.to));

    type HistoryCandle = ReturnType<RunningSimulator['history']>[number];
    /** A greek of exactly 0 means "not computed" and is stored as null (docs/CONTRACTS section 2). */
    const greek = (value: number | null | undefined): number | null =>
      value === undefined || value === null || value === 0 ? null : value;
    const storedValues = (row: CandleRow) => ({
      ohlcv: [row.open, row.high, row.low, row.close, Number(row.volume)],
      oi: row.oi === null ? null : Number(row.oi),
      greeks: [row.iv, row.delta, row.gamma, row.theta, row.vega],
      underlying: row.underlying_close,
    });
    const upstreamValues = (c: HistoryCandle) => ({
      ohlcv: [c.open, c.high, c.low, c.close, c.volume],
      oi: c.oi ?? null,
      greeks: [greek(c.iv), greek(c.delta), greek(c.gamma), greek(c.theta), greek(c.vega)],
      underlying: c.underlying ?? null,
    });

    /**
     * Every stored minute exact (prices, volume, OI, greeks, underlying); every minute with a candle
     * upstream stored or a gap, never covered.
     */
    async function expectHonest(
      other: TestApp,
      token: number,
    ): Promise<{ missing: number; coverage: Coverage; withGreeks: number }> {
      // With OI, as the service asks for it: a stored minute must carry the simulator's OI too.
      const truth = new Map(
        sim
          .history(token, LOOKBACK_FROM, new Date(Date.parse(NOW) - 30_000), { oi: true })
          .map((c) => [parseUpstreamTime(c.date).getTime(), c]),
      );
      const stored = new Map(
        (await storedCandles(other.database, token)).map((r) => [new Date(r.time).getTime(), r]),
      );
      const coverage = (await request(other.url).get(`/api/v1/instruments/${token}/coverage`).expect(200))
        .body as Coverage;
      let missing = 0;
      let withGreeks = 0;
      for (const minute of lookbackMinutes()) {
        const candle = truth.get(minute);
        const row = stored.get(minute);
        if (row) {
          const at = new Date(minute).toISOString();
          expect({ at, ...storedValues(row) }).toEqual({ at, ...(candle && upstreamValues(candle)) });
          if (row.oi !== null && row.iv !== null && row.delta !== null) withGreeks++;
        } else if (candle) {
          missing++;
          const at = new Date(minute).toISOString();
          expect({
            at,
            gap: within(coverage.gaps, minute),
            covered: within(coverage.covered, minute),
          }).toEqual({
            at,
            gap: true,
            covered: false,
          });
        }
      }
      expect(stored.size).toBeLessThanOrEqual(truth.size);
      return { missing, coverage, withGreeks };
    }

    async function runBackfills(other: TestApp): Promise<string> {
      const requester = other.app.get<BackfillRequester>(BACKFILL_REQUESTER);
      const settled = async (): Promise<void> =>
        void (await waitFor(
          'every job finished',
          async () => {
            const res = await request(other.url).get('/api/v1/backfill/jobs').query({ limit: 200 });
            const jobs = res.body.jobs as { state: string }[];
            return jobs.length > 0 && jobs.every((j) => ['succeeded', 'failed', 'skipped'].includes(j.state));
          },
          { timeoutMs: 20_000, intervalMs: 100 },
        ));
      // The subscription's lookback, then the next cycle's gaps.
      for (let pass = 0; pass < 2; pass++) {
        await requester.request(
          tokens.map((token) => ({ instrumentToken: token, trigger: 'sweep', requestedAt: clock.now() })),
        );
        await settled();
      }
      const [
        {
          jobIds: [signal],
        },
      ] = await requester.request([
        { instrumentToken: tokens[0], trigger: 'manual', requestedAt: clock.now(), ...signalWindow },
      ]);
      await settled();
      return signal;
    }

    const mismatches = async (other: TestApp): Promise<number> =>
      (await other.app.get(MetricsService).backfillWindowMismatch.get()).values
        .filter((v) => v.labels.provider === 'ticker')
        .reduce((sum, v) => sum + v.value, 0);

    async function startWith(shift: string): Promise<TestApp> {
      return startTestApp({
        clock,
        env: {
          BACKFILL_ENABLED: 'true',
          TICKER_SERVICE_URL: sim.url,
          BACKFILL_INTERVAL_SECONDS: '86400',
          BACKFILL_RATE_LIMIT_PER_SECOND: '50',
          TICKER_WINDOW_SHIFT_MINUTES: shift,
          TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '900',
        },
      });
    }

    beforeEach(() => sim.setKnobs({ windowQuirk: true }));
    afterEach(() => sim.setKnobs({ windowQuirk: false }));

    it('with the correction off stores only true minutes, leaves the rest as gaps, and fails the wrong-window job for cause', async () => {
      const other = await startWith('0');
      try {
        const signal = await runBackfills(other);
        for (const token of tokens) {
          const { missing, coverage, withGreeks } = await expectHonest(other, token);
          // The comparison saw OI and greeks, not only nulls.
          expect(withGreeks).toBeGreaterThan(0);
          // Today's session so far (09:15-11:00 IST) was never answered: a gap, not coverage.
          expect(missing).toBeGreaterThanOrEqual(
            sim.history(token, '2025-11-06T03:45:00Z', '2025-11-06T05:29:00Z').length,
          );
          expect(within(coverage.gaps, Date.parse('2025-11-06T04:00:00Z'))).toBe(true);
        }
        const job = (await request(other.url).get(`/api/v1/backfill/jobs/${signal}`).expect(200)).body;
        expect(job).toMatchObject({ state: 'failed', attempts: 1 });
        expect(job.error).toContain(
          'wrong window: ticker answered for a window 330 minutes earlier than asked',
        );
        expect(await mismatches(other)).toBe(1);
        const flags = (await request(other.url).get('/api/v1/config/flags').expect(200)).body;
        expect(flags.ticker_window).toMatchObject({
          mode: 'override',
          shift_minutes: 0,
          verified: false,
          observed_shift_minutes: 330,
        });
        const metrics = (await request(other.url).get('/metrics').expect(200)).text;
        expect(metrics).toContain('backfill_ticker_window_verified 0');
        expect(metrics).toMatch(/backfill_window_mismatch_total\{provider="ticker",direction="earlier"\} 1/);
      } finally {
        await other.close();
      }
    }, 60_000);

    it.each(['330', 'auto'])(
      'with TICKER_WINDOW_SHIFT_MINUTES=%s stores every minute exactly and leaves no gap but the forming minute',
      async (shift) => {
        const other = await startWith(shift);
        try {
          const signal = await runBackfills(other);
          for (const token of tokens) {
            const { missing, coverage, withGreeks } = await expectHonest(other, token);
            expect(missing).toBe(0);
            expect(withGreeks).toBeGreaterThan(0);
            expect(coverage.gaps).toEqual([
              expect.objectContaining({ from: '2025-11-06T05:30:00.000Z', to: '2025-11-06T05:31:00.000Z' }),
            ]);
          }
          expect((await request(other.url).get(`/api/v1/backfill/jobs/${signal}`)).body.state).toBe(
            'succeeded',
          );
          expect(await mismatches(other)).toBe(0);
          const flags = (await request(other.url).get('/api/v1/config/flags').expect(200)).body;
          expect(flags.ticker_window).toMatchObject({
            shift_minutes: 330,
            verified: true,
            observed_shift_minutes: 330,
          });
          const ready = (await request(other.url).get('/health/ready').expect(200)).body;
          expect(ready.details.ticker_window).toMatchObject({ shift_minutes: 330, verified: true });
        } finally {
          await other.close();
        }
      },
      60_000,
    );

    it('in auto learns 0 when the ticker is fixed, from the probe at boot and from a wrong-window answer later', async () => {
      sim.setKnobs({ windowQuirk: false });
      const fixed = await startWith('auto');
      try {
        await runBackfills(fixed);
        for (const token of tokens) expect((await expectHonest(fixed, token)).missing).toBe(0);
        expect((await request(fixed.url).get('/api/v1/config/flags')).body.ticker_window).toMatchObject({
          mode: 'auto',
          shift_minutes: 0,
          verified: true,
        });
      } finally {
        await fixed.close();
      }
      // Verified at 330 at boot; then the ticker is fixed: the next answer is 5h30 late, the probe it
      // triggers finds 0, and the job asks again with it.
      sim.setKnobs({ windowQuirk: true });
      const learning = await startWith('auto');
      try {
        await waitFor('the probe at boot verifying 330', async () => {
          const { ticker_window: window } = (await request(learning.url).get('/api/v1/config/flags')).body;
          return window.verified && window.shift_minutes === 330;
        });
        sim.setKnobs({ windowQuirk: false });
        const requester = learning.app.get<BackfillRequester>(BACKFILL_REQUESTER);
        // Tuesday 09:15-10:00 IST asked with 330 on a fixed ticker is answered with 14:45-15:30.
        const [
          {
            jobIds: [id],
          },
        ] = await requester.request([
          {
            instrumentToken: tokens[0],
            trigger: 'manual',
            requestedAt: clock.now(),
            from: new Date('2025-11-04T03:45:00Z'),
            to: new Date('2025-11-04T04:30:00Z'),
          },
        ]);
        const job = await waitFor('the job retried with the learned shift', async () => {
          const body = (await request(learning.url).get(`/api/v1/backfill/jobs/${id}`)).body;
          return body.state === 'succeeded' ? body : undefined;
        });
        expect(job.attempts).toBe(2);
        expect(await mismatches(learning)).toBe(1);
        const rows = await storedCandles(learning.database, tokens[0]);
        expect(rows.map((r) => [new Date(r.time).toISOString(), r.close])).toEqual(
          sim
            .history(tokens[0], '2025-11-04T03:45:00Z', '2025-11-04T04:29:00Z')
            .map((c) => [parseUpstreamTime(c.date).toISOString(), c.close]),
        );
        expect((await request(learning.url).get('/api/v1/config/flags')).body.ticker_window).toMatchObject({
          shift_minutes: 0,
          verified: true,
        });
      } finally {
        await learning.close();
      }
    }, 60_000);
  });
});
