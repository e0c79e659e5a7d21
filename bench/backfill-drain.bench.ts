import { BACKFILL_REQUESTER, BackfillRequester } from '../src/backfill/backfill.requests';
import { DEFAULT_NSE_HOLIDAYS, MarketCalendar, OffsetClock } from '../src/contracts/market-time';
import { HistoryStub } from '../test/integration/backfill-upstream.stub';
import { startTestApp } from '../test/support/app-harness';
import { report } from './support/limits';

// Drain time of a burst of 500 subscriptions (the design note's high-load scenario) divided by the
// time the rate limit allows (500 / rate). The upstream answers in 100 ms; five sessions of lookback.
// BENCH_RATE raises the limit from Kite's 3 requests/s to keep the run short; the ratio is what counts.

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const clock = new OffsetClock('2026-11-26T04:30:00Z');

async function main(): Promise<void> {
  const stub = await new HistoryStub({
    clock,
    calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS),
    latencyMs: 100,
  }).start();
  const app = await startTestApp({
    clock,
    env: {
      BACKFILL_ENABLED: 'true',
      TICKER_SERVICE_URL: stub.url,
      BACKFILL_RATE_LIMIT_PER_SECOND: String(RATE),
      BACKFILL_CONCURRENCY: String(Math.max(3, Math.ceil(RATE * 0.5))),
      BACKFILL_INTERVAL_SECONDS: '86400',
      DB_POOL_SIZE: '20',
    },
  });
  try {
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const started = Date.now();
    await Promise.all(
      Array.from({ length: SUBSCRIPTIONS }, (_, i) =>
        requester.request({ instrumentToken: 7_000_000 + i, trigger: 'event', requestedAt: clock.now() }),
      ),
    );
    for (;;) {
      const [row] = await app.database.query<{ n: string }>(
        `SELECT count(*) AS n FROM backfill_jobs WHERE state = 'succeeded'`,
      );
      if (Number(row.n) >= SUBSCRIPTIONS) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const seconds = (Date.now() - started) / 1000;
    const limit = SUBSCRIPTIONS / RATE;
    process.stdout.write(`${SUBSCRIPTIONS} subscriptions at ${RATE} requests/s, upstream latency 100 ms\n`);
    process.stdout.write(
      `${report('burst drain time', seconds, 's', { value: limit, unit: 's', label: '500 / rate' })}\n`,
    );
    process.stdout.write(`upstream requests: ${stub.requests.length}\n`);
  } finally {
    await app.close();
    await stub.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
