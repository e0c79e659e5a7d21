import {
  DEFAULT_NSE_HOLIDAYS,
  FixedClock,
  MarketCalendar,
  parseUpstreamTime,
} from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL } from '../support/env';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 16:30 IST, after the close: one session of lookback, nothing forming.
const NOW = '2026-11-26T11:00:00.000Z';
const FROM = new Date('2026-11-26T03:45:00.000Z');
const TOKENS = [811, 812, 813, 814, 815, 816];
/** The gap fill's period: the shortest the service takes that leaves room for the outage in it. */
const PERIOD_S = 15;

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

// The scheduled gap fill is the only trigger here (no events, no stream, the reconciliation only at
// boot and agreeing with what is recorded): what the database holds shows whether a cycle ran.
describe.each(['database', 'redis'] as const)(
  'a scheduled gap fill that meets an outage of the %s',
  (cut) => {
    const clock = new FixedClock(NOW);
    let stub: HistoryStub;
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: TestApp;

    beforeAll(async () => {
      stub = await new HistoryStub({
        clock,
        calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS),
      }).start();
      database = await createTestDatabase();
      proxy = await TcpProxy.forUrl(cut === 'database' ? database.url : TEST_REDIS_URL).start();
    });

    afterAll(async () => {
      proxy?.restore();
      await app?.close();
      await proxy?.stop();
      await stub?.stop();
      await database?.drop();
    });

    it('runs again as soon as it is back, not a period later', async () => {
      // The period's timer starts while the app starts: its first cycle lies between these plus PERIOD_S.
      const startedBefore = Date.now();
      app = await startTestApp({
        clock,
        database,
        env: {
          ...(cut === 'database'
            ? { DATABASE_URL: proxy.rewrite(database.url) }
            : { REDIS_URL: proxy.rewrite(TEST_REDIS_URL) }),
          BACKFILL_ENABLED: 'true',
          TICKER_SERVICE_URL: stub.url,
          BACKFILL_INTERVAL_SECONDS: String(PERIOD_S),
          BACKFILL_RATE_LIMIT_PER_SECOND: '20',
          BACKFILL_CONCURRENCY: '4',
          BACKFILL_LOOKBACK_SESSIONS: '1',
        },
      });
      const startedAfter = Date.now();
      await database.query(`INSERT INTO instruments (instrument_token) SELECT unnest($1::bigint[])`, [
        TOKENS,
      ]);
      await database.query(
        `INSERT INTO subscriptions (instrument_token, status, source) SELECT unnest($1::bigint[]), 'active', 'event'`,
        [TOKENS],
      );
      stub.subscriptions = TOKENS;

      // Unreachable from before the first cycle until after it.
      await sleepUntil(startedBefore + (PERIOD_S - 3) * 1000);
      proxy.cut();
      await sleepUntil(startedAfter + (PERIOD_S + 2) * 1000);
      const [{ stored }] = await database.query<{ stored: number }>(
        `SELECT count(*)::int AS stored FROM candles_1m`,
      );
      expect(stored).toBe(0);
      proxy.restore();

      // Every instrument complete before the next period would have come round.
      const nextPeriod = startedBefore + 2 * PERIOD_S * 1000;
      await waitFor(
        'every subscribed instrument filled after the outage',
        async () => {
          const rows = await database.query<{ token: string; n: number }>(
            `SELECT instrument_token AS token, count(*)::int AS n FROM candles_1m GROUP BY 1`,
          );
          return rows.length === TOKENS.length;
        },
        { timeoutMs: nextPeriod - 1000 - Date.now() },
      );
      for (const token of TOKENS) {
        const rows = await database.query<{ time: Date }>(
          `SELECT time FROM candles_1m WHERE instrument_token = $1 ORDER BY time`,
          [token],
        );
        expect(rows.map((row) => new Date(row.time).toISOString())).toEqual(
          stub.expected(token, FROM, clock.now()).map((c) => parseUpstreamTime(c.date).toISOString()),
        );
      }
    }, 60_000);
  },
);
