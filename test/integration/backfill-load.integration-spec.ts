import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST, one session of lookback: 45 finished minutes per instrument.
const NOW = '2026-11-26T04:30:00.000Z';
const SESSION_OPEN = new Date('2026-11-26T03:45:00.000Z');
const SUBSCRIPTIONS = 500;
const RATE = 50;

describe('backfill under a burst of 500 subscriptions', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let testApp: TestApp;

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS) }).start();
    testApp = await startTestApp({
      clock,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: stub.url,
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
    await stub?.stop();
  });

  it('backfills every instrument exactly once, at the rate limit', async () => {
    const requester = testApp.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    // A running service: connections open before the burst arrives.
    const warm = await requester.request({
      instrumentToken: 999,
      trigger: 'event',
      requestedAt: clock.now(),
    });
    await waitFor(
      'warm-up job',
      async () =>
        (
          await testApp.database.query<{ state: string }>(`SELECT state FROM backfill_jobs WHERE id = $1`, [
            warm.jobIds[0],
          ])
        )[0]?.state === 'succeeded',
    );
    stub.requests = [];

    const tokens = Array.from({ length: SUBSCRIPTIONS }, (_, i) => 1_000_001 + i);
    const started = Date.now();
    const results = await Promise.all(
      tokens.map((instrumentToken) =>
        requester.request({ instrumentToken, trigger: 'event', requestedAt: clock.now() }),
      ),
    );
    expect(new Set(results.flatMap((r) => r.jobIds)).size).toBe(SUBSCRIPTIONS);

    await waitFor(
      'every job succeeded',
      async () => {
        const [row] = await testApp.database.query<{ n: string }>(
          `SELECT count(*) AS n FROM backfill_jobs WHERE state = 'succeeded' AND instrument_token <> 999`,
        );
        return Number(row.n) === SUBSCRIPTIONS;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    const drainSeconds = (Date.now() - started) / 1000;
    const limitSeconds = SUBSCRIPTIONS / RATE;

    // Exactly once upstream; none lost.
    expect(stub.requests).toHaveLength(SUBSCRIPTIONS);
    expect(new Set(stub.requests.map((r) => r.token)).size).toBe(SUBSCRIPTIONS);
    const counts = await testApp.database.query<{ instrument_token: string; n: string }>(
      `SELECT instrument_token, count(*) AS n FROM candles_1m WHERE instrument_token <> 999 GROUP BY instrument_token`,
    );
    expect(counts).toHaveLength(SUBSCRIPTIONS);
    for (const row of counts) {
      expect(Number(row.n)).toBe(
        stub.expected(Number(row.instrument_token), SESSION_OPEN, clock.now()).length,
      );
    }
    // Never faster than the limiter allows (the first window's requests go at once), at most 10% slower.
    expect(drainSeconds).toBeGreaterThanOrEqual((SUBSCRIPTIONS - RATE) / RATE);
    expect(drainSeconds).toBeLessThanOrEqual(limitSeconds * 1.1);
    process.stdout.write(`500-subscription drain: ${drainSeconds.toFixed(2)} s, limit ${limitSeconds} s\n`);
  }, 60_000);
});
