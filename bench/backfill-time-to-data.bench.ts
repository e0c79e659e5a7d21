import { BACKFILL_REQUESTER, BackfillRequester } from '../src/backfill/backfill.requests';
import {
  DEFAULT_NSE_HOLIDAYS,
  MarketCalendar,
  OffsetClock,
  parseUpstreamTime,
} from '../src/contracts/market-time';
import { CandlesRepository } from '../src/market-data/candles.repository';
import { Candle } from '../src/market-data/market-data.types';
import { HistoryStub } from '../test/integration/backfill-upstream.stub';
import { startTestApp } from '../test/support/app-harness';
import { percentile, report } from './support/limits';

// Time to data: one subscription at a time (the default 3 requests/s respected), the upstream
// answering in 100 ms, five sessions of lookback. Each figure is the job record's time_to_data_ms
// (request to candles committed). The floor is the same upstream call plus one write of the same
// candles, measured directly in the same run.

const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 50);
const LATENCY_MS = 100;
// Thursday 2026-11-26 10:00 IST, running at real speed.
const clock = new OffsetClock('2026-11-26T04:30:00Z');

async function main(): Promise<void> {
  const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);
  const stub = await new HistoryStub({ clock, calendar, latencyMs: LATENCY_MS }).start();
  const app = await startTestApp({
    clock,
    env: {
      BACKFILL_ENABLED: 'true',
      TICKER_SERVICE_URL: stub.url,
      BACKFILL_INTERVAL_SECONDS: '86400',
    },
  });
  try {
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const samples: number[] = [];
    let rows = 0;
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const started = Date.now();
      const { jobIds } = await requester.request({
        instrumentToken: 5_000_000 + i,
        trigger: 'event',
        requestedAt: clock.now(),
      });
      for (;;) {
        const [job] = await app.database.query<{
          state: string;
          time_to_data_ms: number;
          rows_written: number;
        }>(`SELECT state, time_to_data_ms, rows_written FROM backfill_jobs WHERE id = $1`, [jobIds[0]]);
        if (job?.state === 'succeeded') {
          samples.push(job.time_to_data_ms);
          rows = job.rows_written;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      // Keep under the default limiter, so each figure is latency rather than queueing.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 350 - (Date.now() - started))));
    }

    // Floor: the same request straight to the upstream, plus one write of its candles.
    const repository = app.app.get(CandlesRepository);
    const floors: number[] = [];
    const lookbackFrom = calendar.lookbackStart(clock.now(), 5);
    for (let i = 0; i < 10; i++) {
      const token = 6_000_000 + i;
      const started = Date.now();
      const url = `${stub.url}/history?instrument_token=${token}&from_ts=${Math.floor(lookbackFrom.getTime() / 1000)}&to_ts=${Math.floor(clock.now().getTime() / 1000)}&interval=minute&oi=true`;
      const body = (await (await fetch(url)).json()) as {
        candles: {
          date: string;
          open: number;
          high: number;
          low: number;
          close: number;
          volume: number;
          oi: number;
        }[];
      };
      const candles: Candle[] = body.candles.map((c) => ({
        instrumentToken: token,
        time: parseUpstreamTime(c.date),
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
        oi: c.oi,
        iv: null,
        delta: null,
        gamma: null,
        theta: null,
        vega: null,
        underlyingClose: null,
      }));
      await repository.upsertHistory(candles);
      floors.push(Date.now() - started);
    }
    samples.sort((a, b) => a - b);
    floors.sort((a, b) => a - b);
    const floor = { value: percentile(floors, 50) / 1000, unit: 's', label: 'floor (p50 fetch + write)' };
    process.stdout.write(
      `${SUBSCRIPTIONS} subscriptions, ${rows} candles each, upstream latency ${LATENCY_MS} ms\n`,
    );
    process.stdout.write(`${report('time to data p50', percentile(samples, 50) / 1000, 's', floor)}\n`);
    process.stdout.write(`${report('time to data p99', percentile(samples, 99) / 1000, 's', floor)}\n`);
  } finally {
    await app.close();
    await stub.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
