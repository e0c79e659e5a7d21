import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import { FixedClock, parseUpstreamTime } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { storedCandles } from '../support/candles';
import { uniqueName } from '../support/env';
import { testRedis } from '../support/redis';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 16:00 IST, after the close: the lookback (one session) ends at 15:30 and stays
// the same all evening, so every sweep plans the same window, with the same job id.
const NOW = '2025-11-06T10:30:00.000Z';
const SESSION_OPEN = '2025-11-06T03:45:00.000Z';
const SESSION_END = '2025-11-06T10:00:00.000Z';
const API_KEY = 'retry-test-key';

interface JobBody {
  id: string;
  state: string;
  attempts: number;
  rows_written: number;
}

/**
 * A window whose job failed (the upstream answered 502 for that instrument until the attempts ran
 * out) runs again when it is asked for again, by hand or by the sweep, once the instrument is back.
 */
describe('a failed backfill window asked for again', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let app: TestApp;
  const redis = testRedis();

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('sim')}:nifty`;
    sim = await startHistorySimulator(channelPrefix, clock);
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_LOOKBACK_SESSIONS: '1',
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        // Two attempts (1 s apart) run out quickly; production's eight only take longer.
        BACKFILL_MAX_ATTEMPTS: '2',
        BACKFILL_SUBSCRIPTION_AWARE: 'false',
        API_KEY,
      },
    });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.stop();
    redis.disconnect();
  });

  const job = async (id: string): Promise<JobBody> =>
    (await request(app.url).get(`/api/v1/backfill/jobs/${id}`).expect(200)).body as JobBody;

  const jobInState = (id: string, state: string): Promise<JobBody> =>
    waitFor(
      `job ${id} ${state}`,
      async () => {
        const body = await job(id);
        return body.state === state ? body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );

  async function expectStoredAsSimulator(token: number): Promise<void> {
    const expected = sim.history(token, SESSION_OPEN, new Date(Date.parse(SESSION_END) - 60_000), {
      oi: true,
    });
    expect(expected.length).toBeGreaterThan(300);
    const rows = await storedCandles(app.database, token);
    expect(rows.map((row) => [new Date(row.time).toISOString(), row.close, Number(row.volume)])).toEqual(
      expected.map((c) => [parseUpstreamTime(c.date).toISOString(), c.close, c.volume]),
    );
  }

  const liquidOptions = (): number[] =>
    sim.universe.instruments
      .filter((i) => (i.kind === 'CE' || i.kind === 'PE') && i.noTradeProbability === 0)
      .map((i) => i.instrument_token);

  it('runs a manual POST of the same window again and stores its data', async () => {
    const token = liquidOptions()[0];
    const body = { instrument_token: token, from: SESSION_OPEN, to: SESSION_END };
    sim.setKnobs({ downTokens: [token] });
    const first = await request(app.url)
      .post('/api/v1/backfill')
      .set('X-API-Key', API_KEY)
      .send(body)
      .expect(202);
    const failed = await jobInState(first.body.job_id, 'failed');
    expect(failed.attempts).toBe(2);

    sim.setKnobs({ downTokens: [] });
    const again = await request(app.url)
      .post('/api/v1/backfill')
      .set('X-API-Key', API_KEY)
      .send(body)
      .expect(202);
    // The same window is the same job id; it runs again instead of answering with the old failure.
    expect(again.body.job_id).toBe(first.body.job_id);
    const succeeded = await jobInState(again.body.job_id, 'succeeded');
    expect(succeeded.attempts).toBe(1);
    await expectStoredAsSimulator(token);
  });

  it("runs the sweep's same window again once the instrument is back", async () => {
    const token = liquidOptions()[1];
    await app.database.query(`INSERT INTO instruments (instrument_token) VALUES ($1)`, [token]);
    const scheduler = app.app.get(BackfillScheduler);
    const sweep = async (): Promise<string> => {
      expect(await scheduler.runCycle()).toMatchObject({ ran: true });
      const rows = await app.database.query<{ id: string }>(
        `SELECT id FROM backfill_jobs WHERE instrument_token = $1 AND trigger = 'sweep'`,
        [token],
      );
      expect(rows).toHaveLength(1);
      return rows[0].id;
    };

    sim.setKnobs({ downTokens: [token] });
    const id = await sweep();
    expect((await jobInState(id, 'failed')).attempts).toBe(2);

    sim.setKnobs({ downTokens: [] });
    expect(await sweep()).toBe(id);
    await jobInState(id, 'succeeded');
    await expectStoredAsSimulator(token);
  });
});
