import { DEFAULT_NSE_HOLIDAYS, MarketCalendar } from '../src/contracts/market-time';
import { CandlesRepository } from '../src/market-data/candles.repository';
import { Candle } from '../src/market-data/market-data.types';
import { startTestApp } from '../test/support/app-harness';
import { rawCopyRate, report } from './support/limits';

// Candle writes: rows/s of the service's history upsert (the path every backfill job takes) on
// 1,000,000 rows, beside a bare `COPY` of the same rows into the same (emptied) table in the same run.

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/** Rows per upsert call: about one 60-day job of an instrument with trades in most minutes. */
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const TOKEN_BASE = 30_000_000;

function candles(): Candle[] {
  const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);
  const minutes = calendar.sessionMinutes(new Date('2025-09-01T00:00:00Z'), new Date('2025-11-01T00:00:00Z'));
  const rows: Candle[] = [];
  for (let token = TOKEN_BASE; rows.length < ROWS; token++) {
    for (let i = 0; i < minutes.length && rows.length < ROWS; i++) {
      const base = 100 + (token % 97) + (i % 50) / 4;
      rows.push({
        instrumentToken: token,
        time: minutes[i],
        open: base,
        high: base + 1.5,
        low: base - 0.75,
        close: base + 0.25,
        volume: 75 * ((i % 11) + 1),
        oi: 10_000 + (i % 17) * 75,
        iv: 0.14,
        delta: 0.5,
        gamma: 0.001,
        theta: -12.3,
        vega: 9.8,
        underlyingClose: 24_500,
      });
    }
  }
  return rows;
}

function csv(rows: Candle[]): string[] {
  return rows.map((c) =>
    [
      c.instrumentToken,
      c.time.toISOString(),
      c.open,
      c.high,
      c.low,
      c.close,
      c.volume,
      c.oi,
      c.iv,
      c.delta,
      c.gamma,
      c.theta,
      c.vega,
      c.underlyingClose,
      'history',
    ].join(','),
  );
}

async function main(): Promise<void> {
  const app = await startTestApp();
  try {
    const rows = candles();
    const lines = csv(rows);
    const columns = [
      'instrument_token',
      'time',
      'open',
      'high',
      'low',
      'close',
      'volume',
      'oi',
      'iv',
      'delta',
      'gamma',
      'theta',
      'vega',
      'underlying_close',
      'source',
    ];
    const copy = await rawCopyRate(app.database.url, 'candles_1m', columns, lines);
    await app.database.query('TRUNCATE candles_1m');
    await app.database.query('VACUUM ANALYZE candles_1m');

    const repository = app.app.get(CandlesRepository);
    const started = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += BATCH) await repository.upsertHistory(rows.slice(i, i + BATCH));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const [count] = await app.database.query<{ n: string }>('SELECT count(*) AS n FROM candles_1m');
    if (Number(count.n) !== rows.length) throw new Error(`expected ${rows.length} rows, found ${count.n}`);

    // A second pass over the same rows: the idempotent re-fetch of covered minutes (nothing changes).
    const again = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += BATCH) await repository.upsertHistory(rows.slice(i, i + BATCH));
    const againSeconds = Number(process.hrtime.bigint() - again) / 1e9;

    const limit = { value: copy.perSecond, unit: 'rows/s', label: 'raw COPY' };
    process.stdout.write(`${report('history upsert, new rows', rows.length / seconds, 'rows/s', limit)}\n`);
    process.stdout.write(
      `${report('history upsert, unchanged rows', rows.length / againSeconds, 'rows/s', limit)}\n`,
    );
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
