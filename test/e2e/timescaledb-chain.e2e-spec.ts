import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { FixedClock, parseUpstreamTime } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { uniqueName } from '../support/env';
import { startHistorySimulator } from '../support/simulator';
import { describeWithCluster } from '../support/timescaledb';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 11:00:30 IST. The manual window is the first hour of Tuesday 2025-07-29, 100
// days earlier: far outside the 7 days the aggregates' refresh policy looks at.
const NOW = '2025-11-06T05:30:30.000Z';
const OLD_FROM = '2025-07-29T03:45:00.000Z';
const OLD_TO = '2025-07-29T04:45:00.000Z';
const BUCKET = '2025-07-29T04:00:00.000Z';
// A weekly strike: the expiry (which the chain views group by) follows from the tradingsymbol.
const CALL = 1284420098; // NIFTY25N0424750CE
const PUT = 1745791490; // NIFTY25N0424750PE

interface ChainRow {
  call_close: number | null;
  call_volume: string | null;
  call_oi: string | null;
  put_close: number | null;
}

describeWithCluster(
  'TEST_TSDB_ADMIN_URL',
  'option chain aggregates after a backfill (TimescaleDB)',
  (adminUrl) => {
    const clock = new FixedClock(NOW);
    let sim: RunningSimulator;
    let app: TestApp;

    beforeAll(async () => {
      const channelPrefix = `${uniqueName('sim')}:nifty`;
      sim = await startHistorySimulator(channelPrefix, clock);
      app = await startTestApp({
        adminUrl,
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

    /** What a live store looks like: the stream has written recent minutes and the policy has run. */
    async function liveWatermark(): Promise<void> {
      await app.database.query(
        `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, source)
       VALUES (256265, date_trunc('minute', now()) - interval '1 hour', 1, 1, 1, 1, 'stream')`,
      );
      const jobs = await app.database.query<{ job_id: number }>(
        `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
      );
      expect(jobs).toHaveLength(2);
      for (const { job_id } of jobs) await app.database.query('CALL run_job($1)', [job_id]);
    }

    const chainRow = async (view: string): Promise<ChainRow | undefined> =>
      (
        await app.database.query<ChainRow>(
          `SELECT call_close, call_volume::text, call_oi::text, put_close FROM ${view}
          WHERE underlying = 'NIFTY' AND strike = 24750 AND expiry = '2025-11-04' AND time = $1`,
          [BUCKET],
        )
      )[0];

    async function backfilled(token: number): Promise<void> {
      const accepted = await request(app.url)
        .post('/api/v1/backfill')
        .send({ instrument_token: token, from: OLD_FROM, to: OLD_TO })
        .expect(202);
      await waitFor(`manual backfill of ${token}`, async () => {
        const job = await request(app.url).get(`/api/v1/backfill/jobs/${accepted.body.job_id}`);
        return job.body.state === 'succeeded';
      });
    }

    it('shows minutes backfilled 100 days back in the 5- and 15-minute chains', async () => {
      await liveWatermark();
      // Subscribed through the ticker (instrument rows, the lookback backfilled), then a manual
      // backfill of the old window for each leg.
      for (const token of [CALL, PUT]) await sim.subscribe(token);
      await waitFor('lookback backfills', async () => {
        const res = await request(app.url).get('/api/v1/backfill/jobs').query({ state: 'succeeded' });
        return res.body.total === 2;
      });
      expect(await chainRow('fo_option_strike_bars_5m')).toBeUndefined();
      for (const token of [CALL, PUT]) await backfilled(token);

      const minutes = (token: number, width: number) =>
        sim
          .history(token, BUCKET, new Date(Date.parse(BUCKET) + (width - 1) * 60_000), { oi: true })
          .filter((c) => parseUpstreamTime(c.date).getTime() >= Date.parse(BUCKET));
      for (const [view, width] of [
        ['fo_option_strike_bars_5m', 5],
        ['fo_option_strike_bars_15m', 15],
      ] as const) {
        const call = minutes(CALL, width);
        const put = minutes(PUT, width);
        expect(call.length).toBeGreaterThan(0);
        const row = await waitFor(`${view} at ${BUCKET}`, () => chainRow(view), { timeoutMs: 15_000 });
        expect(row).toEqual({
          call_close: call[call.length - 1].close,
          call_volume: String(call.reduce((sum, c) => sum + c.volume, 0)),
          call_oi: String(call[call.length - 1].oi),
          put_close: put.length > 0 ? put[put.length - 1].close : null,
        });
      }
      const metrics = await request(app.url).get('/metrics').expect(200);
      expect(metrics.text).toMatch(
        /candle_aggregate_refreshes_total\{aggregate="fo_candles_5m",outcome="refreshed"\} [1-9]/,
      );
    });
  },
);
