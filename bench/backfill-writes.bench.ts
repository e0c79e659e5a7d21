import { DEFAULT_NSE_HOLIDAYS, MarketCalendar } from '../src/contracts/market-time';
import { DatabaseService } from '../src/database/database.service';
import { CandlesRepository } from '../src/market-data/candles.repository';
import { Candle } from '../src/market-data/market-data.types';
import { startTestApp, TestApp } from '../test/support/app-harness';
import { rawCopyRate, report } from './support/limits';

// Candle writes: rows/s of the service's history upsert (the path every backfill job takes) on
// 1,000,000 rows, beside a bare `COPY` of the same rows into the same (emptied) table in the same run.
// Where the database is TimescaleDB (TEST_PG_ADMIN_URL pointing at a TimescaleDB cluster), the same
// into compressed chunks (a manual backfill of minutes older than DB_COMPRESS_AFTER_DAYS) beside a
// bare `COPY` into the same compressed chunks, and the catch-up refresh of the chain aggregates.

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/** Rows per upsert call: about one 60-day job of an instrument with trades in most minutes. */
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
/** Rows of each compressed-chunk phase. */
const COMPRESSED_ROWS = Number(process.env.BENCH_COMPRESSED_ROWS ?? Math.round(ROWS / 4));
const TOKEN_BASE = 30_000_000;
const COLUMNS = [
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

function candles(count: number, tokenBase: number): Candle[] {
  const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);
  const minutes = calendar.sessionMinutes(new Date('2025-09-01T00:00:00Z'), new Date('2025-11-01T00:00:00Z'));
  const rows: Candle[] = [];
  for (let token = tokenBase; rows.length < count; token++) {
    for (let i = 0; i < minutes.length && rows.length < count; i++) {
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

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function upsertAll(repository: CandlesRepository, rows: Candle[]): Promise<number> {
  return timed(async () => {
    for (let i = 0; i < rows.length; i += BATCH) await repository.upsertHistory(rows.slice(i, i + BATCH));
  });
}

async function expectRows(app: TestApp, expected: number): Promise<void> {
  const [count] = await app.database.query<{ n: string }>('SELECT count(*) AS n FROM candles_1m');
  if (Number(count.n) !== expected) throw new Error(`expected ${expected} rows, found ${count.n}`);
}

const print = (line: string): boolean => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  // The compression policy stays clear of the benchmark's minutes: chunks are compressed on purpose.
  const app = await startTestApp({ env: { DB_COMPRESS_AFTER_DAYS: '3660' } });
  try {
    const mode = app.app.get(DatabaseService).storageMode;
    print(
      mode.timescaledb
        ? `store: TimescaleDB ${mode.version}, candles_1m a hypertable with 1-day chunks`
        : 'store: plain PostgreSQL, candles_1m a plain table',
    );
    const rows = candles(ROWS, TOKEN_BASE);
    const copy = await rawCopyRate(app.database.url, 'candles_1m', COLUMNS, csv(rows));
    await app.database.query('TRUNCATE candles_1m');
    await app.database.query('VACUUM ANALYZE candles_1m');

    const repository = app.app.get(CandlesRepository);
    const seconds = await upsertAll(repository, rows);
    await expectRows(app, rows.length);
    // A second pass over the same rows: the idempotent re-fetch of covered minutes (nothing changes).
    const againSeconds = await upsertAll(repository, rows);

    const limit = { value: copy.perSecond, unit: 'rows/s', label: 'raw COPY' };
    print(report('history upsert, new rows', rows.length / seconds, 'rows/s', limit));
    print(report('history upsert, unchanged rows', rows.length / againSeconds, 'rows/s', limit));
    if (!mode.timescaledb) {
      print('(compressed chunks and continuous aggregates: TimescaleDB only, not measured on this store)');
      return;
    }
    await compressedChunks(app, repository, rows);
    await aggregateRefresh(app, rows.length);
  } finally {
    await app.close();
  }
}

/** Writes into chunks that are compressed: what a manual backfill older than compress_after does. */
async function compressedChunks(
  app: TestApp,
  repository: CandlesRepository,
  stored: Candle[],
): Promise<void> {
  const compress = (): Promise<number> =>
    timed(() =>
      app.database.query(
        `SELECT compress_chunk(c, if_not_compressed => TRUE) FROM show_chunks('candles_1m') c`,
      ),
    );
  const compressSeconds = await compress();
  const [chunks] = await app.database.query<{ chunks: number; compressed: number }>(
    `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE is_compressed)::int AS compressed
       FROM timescaledb_information.chunks WHERE hypertable_name = 'candles_1m'`,
  );
  const [stats] = await app.database.query<{ before: string; after: string }>(
    `SELECT before_compression_total_bytes::text AS before, after_compression_total_bytes::text AS after
       FROM hypertable_compression_stats('candles_1m')`,
  );
  const perRow = (bytes: string): string => (Number(bytes) / stored.length).toFixed(1);
  print(
    `compressed ${chunks.compressed} of ${chunks.chunks} chunks (${stored.length} rows) in ${compressSeconds.toFixed(1)} s: ` +
      `${perRow(stats.before)} bytes/row with indexes before, ${perRow(stats.after)} after (${(Number(stats.before) / Number(stats.after)).toFixed(1)}x)`,
  );

  // The limit: new instruments' rows COPYed into the same minutes, i.e. into compressed chunks.
  const copied = candles(COMPRESSED_ROWS, TOKEN_BASE + 100_000);
  const copy = await rawCopyRate(app.database.url, 'candles_1m', COLUMNS, csv(copied));
  const limit = { value: copy.perSecond, unit: 'rows/s', label: 'raw COPY into compressed chunks' };
  await compress();

  const fresh = candles(COMPRESSED_ROWS, TOKEN_BASE + 200_000);
  const freshSeconds = await upsertAll(repository, fresh);
  await compress();
  const unchanged = stored.slice(0, COMPRESSED_ROWS);
  const unchangedSeconds = await upsertAll(repository, unchanged);
  await compress();
  const changed = unchanged.map((c) => ({ ...c, close: c.close + 0.05 }));
  const changedSeconds = await upsertAll(repository, changed);
  await expectRows(app, stored.length + copied.length + fresh.length);

  print(report('compressed chunks: history upsert, new rows', fresh.length / freshSeconds, 'rows/s', limit));
  print(
    report('compressed chunks: upsert, unchanged rows', unchanged.length / unchangedSeconds, 'rows/s', limit),
  );
  print(report('compressed chunks: upsert, changed rows', changed.length / changedSeconds, 'rows/s', limit));
}

/**
 * The refresher's catch-up at start: materialising both chain aggregates over the whole stored
 * history the first time (a database converted to TimescaleDB), then again with nothing changed
 * (every later start). The limit: the aggregates' own queries over the same rows, not stored.
 */
async function aggregateRefresh(app: TestApp, rows: number): Promise<void> {
  const aggregates = await app.database.query<{ name: string; definition: string }>(
    `SELECT view_name AS name, view_definition AS definition FROM timescaledb_information.continuous_aggregates ORDER BY view_name`,
  );
  const querySeconds = await timed(async () => {
    for (const { definition } of aggregates)
      await app.database.query(`SELECT count(*) FROM (${definition.replace(/;\s*$/, '')}) q`);
  });
  const refresh = (): Promise<number> =>
    timed(async () => {
      for (const { name } of aggregates)
        await app.database.query(
          `CALL refresh_continuous_aggregate('${name}', NULL, '2025-11-01T00:00:00Z')`,
        );
    });
  const first = await refresh();
  const again = await refresh();
  const limit = { value: rows / querySeconds, unit: 'rows/s', label: 'the aggregate queries alone' };
  print(report(`first refresh of ${aggregates.length} chain aggregates`, rows / first, 'rows/s', limit));
  print(
    report('refresh again, nothing changed', again, 's', {
      value: querySeconds,
      unit: 's',
      label: 'the aggregate queries alone',
    }),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
