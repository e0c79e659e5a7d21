import { RunningSimulator, startSimulator } from '../../simulator/simulator';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 10:00 IST, one session of lookback: 45 finished minutes per instrument.
const NOW = '2025-11-06T04:30:00.000Z';
const SESSION_OPEN = '2025-11-06T03:45:00.000Z';
const LAST_FINISHED_MINUTE = '2025-11-06T04:29:00.000Z';
const SUBSCRIPTIONS = 500;
const RATE = 25;

describe('backfill under a burst of 500 subscriptions (the simulator as upstream)', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let testApp: TestApp;

  beforeAll(async () => {
    // 50 strikes each side: enough instruments for the burst. The simulator's own limit is set above
    // ours, so the service's limiter is the one measured.
    sim = await startSimulator({
      redisUrl: null,
      clock,
      strikesEachSide: 50,
      liveTickIntervalMs: 0,
      knobs: { historyRatePerSec: RATE * 2, liveTicks: false },
    });
    testApp = await startTestApp({
      clock,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_RATE_LIMIT_PER_SECOND: String(RATE),
        BACKFILL_CONCURRENCY: '16',
        BACKFILL_LOOKBACK_SESSIONS: '1',
        BACKFILL_INTERVAL_SECONDS: '86400',
        DB_POOL_SIZE: '20',
      },
    });
  });

  afterAll(async () => {
    await testApp?.close();
    await sim?.stop();
  });

  it('backfills every instrument exactly once, at the rate limit', async () => {
    const requester = testApp.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const instruments = sim.universe.instruments.filter((i) => i.segment !== 'INDICES');
    expect(instruments.length).toBeGreaterThan(SUBSCRIPTIONS);
    const [warmUp, ...rest] = instruments.map((i) => i.instrument_token);
    const tokens = rest.slice(0, SUBSCRIPTIONS);

    // A running service: connections open before the burst arrives.
    const [warm] = await requester.request([
      { instrumentToken: warmUp, trigger: 'event', requestedAt: clock.now() },
    ]);
    await waitFor(
      'warm-up job',
      async () =>
        (
          await testApp.database.query<{ state: string }>(`SELECT state FROM backfill_jobs WHERE id = $1`, [
            warm.jobIds[0],
          ])
        )[0]?.state === 'succeeded',
    );
    sim.resetStats();

    const started = Date.now();
    const results = await requester.request(
      tokens.map((instrumentToken) => ({ instrumentToken, trigger: 'event', requestedAt: clock.now() })),
    );
    expect(new Set(results.flatMap((r) => r.jobIds)).size).toBe(SUBSCRIPTIONS);

    await waitFor(
      'every job succeeded',
      async () => {
        const [row] = await testApp.database.query<{ n: string }>(
          `SELECT count(*) AS n FROM backfill_jobs WHERE state = 'succeeded' AND instrument_token = ANY($1::bigint[])`,
          [tokens],
        );
        return Number(row.n) === SUBSCRIPTIONS;
      },
      { timeoutMs: 40_000, intervalMs: 20 },
    );
    const drainSeconds = (Date.now() - started) / 1000;
    const limitSeconds = SUBSCRIPTIONS / RATE;

    // Exactly once upstream; none lost; every minute equal to the simulator's.
    expect(sim.stats().history).toMatchObject({ requests: SUBSCRIPTIONS, ok: SUBSCRIPTIONS });
    const counts = await testApp.database.query<{ instrument_token: string; n: string; volume: string }>(
      `SELECT instrument_token, count(*) AS n, sum(volume) AS volume FROM candles_1m
        WHERE instrument_token = ANY($1::bigint[]) GROUP BY instrument_token`,
      [tokens],
    );
    expect(counts).toHaveLength(SUBSCRIPTIONS);
    for (const row of counts) {
      const expected = sim.history(Number(row.instrument_token), SESSION_OPEN, LAST_FINISHED_MINUTE);
      expect([Number(row.n), Number(row.volume)]).toEqual([
        expected.length,
        expected.reduce((sum, c) => sum + c.volume, 0),
      ]);
    }
    // Never faster than the limiter allows (the first window's requests go at once), at most 10% slower.
    expect(drainSeconds).toBeGreaterThanOrEqual((SUBSCRIPTIONS - RATE) / RATE);
    expect(drainSeconds).toBeLessThanOrEqual(limitSeconds * 1.1);
    process.stdout.write(`500-subscription drain: ${drainSeconds.toFixed(2)} s, limit ${limitSeconds} s\n`);
  }, 60_000);
});
