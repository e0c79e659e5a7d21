import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { freePort } from '../test/support/service-process';
import { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { MarketCalendar } from '../src/contracts/market-time';
import { runMigrations } from '../src/database/data-source';
import { createTestDatabase } from '../test/support/database';
import { TEST_REDIS_URL, uniqueName } from '../test/support/env';
import { waitFor } from '../test/support/wait-for';
import { report } from './support/limits';

// The export route streaming a whole chain's 1-minute candles to Parquet: INSTRUMENTS options of one
// underlying x SESSIONS sessions x 375 minutes (4,500 x 5: about 8.4 million rows), loaded with COPY
// into a scratch database, read through the running service's route by underlying. Beside it, in the
// same run: a raw `COPY (SELECT ...) TO STDOUT` of the same rows, the least any export must do, and
// the service's resident memory at idle and at its peak during the export (limit: idle + 100 MB).

const INSTRUMENTS = Number(process.env.BENCH_INSTRUMENTS ?? 4500);
const SESSIONS = ['2025-11-03', '2025-11-04', '2025-11-06', '2025-11-07', '2025-11-10'].slice(
  0,
  Number(process.env.BENCH_SESSIONS ?? 5),
);
const UNDERLYING = 'BENCHX';
/** parquet (the figure asked for) or csv. */
const FORMAT = process.env.BENCH_FORMAT ?? 'parquet';
const FIRST_TOKEN = 70_000_001;
const RSS_LIMIT_MB = 100;
const WINDOW = { from: '2025-11-03T00:00:00Z', to: '2025-11-11T00:00:00Z' };

/** The candles as CSV for COPY, one session of every instrument at a time (bounded memory). */
function* candleLines(): Generator<string> {
  const calendar = new MarketCalendar([]);
  for (const day of SESSIONS) {
    const open = calendar.sessionOf(day)!.open.getTime();
    for (let i = 0; i < INSTRUMENTS; i++) {
      const token = FIRST_TOKEN + i;
      let chunk = '';
      for (let m = 0; m < 375; m++) {
        const time = new Date(open + m * 60_000).toISOString();
        const price = 100 + ((i * 7 + m) % 50) / 4;
        chunk += `${token},${time},${price},${price + 1.5},${price - 1.25},${price + 0.5},${75 * (m % 13)},${1_000_000 + i * 10 + m},${0.12 + (m % 9) / 100},0.${50 + (m % 40)},0.0012,-11.25,8.5,history\n`;
      }
      yield chunk;
    }
  }
}

/** Resident set of a process, MB (Linux /proc). */
function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

const ROOT = join(__dirname, '..');

/**
 * The service as production runs it (`node dist/main.js`, built first): under ts-node the TypeScript
 * compiler would sit in the same heap and move both the idle figure and V8's collection thresholds.
 */
async function startBuiltService(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the service to answer', async () => (await fetch(`${url}/health/live`)).ok, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  return { child, url };
}

class Counter extends Writable {
  bytes = 0;
  constructor(private readonly sink?: Writable) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    if (this.sink) this.sink.write(chunk, done);
    else done();
  }
  override _final(done: (error?: Error | null) => void): void {
    if (this.sink) this.sink.end(done);
    else done();
  }
}

/** Rows of a Parquet file, from its footer (DuckDB). */
async function parquetRows(path: string): Promise<number> {
  const duck = await DuckDBInstance.create(':memory:');
  try {
    const connection = await duck.connect();
    const read = await connection.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${path}')`);
    connection.closeSync();
    return Number(read.getRowObjectsJS()[0].n);
  } finally {
    duck.closeSync();
  }
}

async function main(): Promise<void> {
  const db = await createTestDatabase('mds_bench');
  const client = new Client({ connectionString: db.url });
  const dir = mkdtempSync(join(tmpdir(), 'export-bench-'));
  let service: Awaited<ReturnType<typeof startBuiltService>> | undefined;
  try {
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    await client.connect();
    await client.query(
      `INSERT INTO instruments (instrument_token, tradingsymbol, name, segment, exchange, instrument_type, strike, expiry)
       SELECT t, $1 || t, $1, 'NFO-OPT', 'NFO', CASE t % 2 WHEN 0 THEN 'CE' ELSE 'PE' END, 20000 + (t % 1000) * 50, '2025-11-25'
         FROM generate_series($2::bigint, $2::bigint + $3 - 1) AS t`,
      [UNDERLYING, FIRST_TOKEN, INSTRUMENTS],
    );
    let started = process.hrtime.bigint();
    await pipeline(
      Readable.from(candleLines()),
      client.query(
        copyFrom(
          `COPY candles_1m (instrument_token, time, open, high, low, close, volume, oi, iv, delta, gamma, theta, vega, source)
           FROM STDIN WITH (FORMAT csv)`,
        ),
      ),
    );
    await client.query('VACUUM ANALYZE candles_1m');
    const [{ rows: stored }] = [
      (await client.query<{ rows: string }>('SELECT count(*) AS rows FROM candles_1m')).rows[0],
    ];
    const loadSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const rows = Number(stored);
    console.log(
      `loaded ${rows} candles of ${INSTRUMENTS} instruments x ${SESSIONS.length} sessions in ${loadSeconds.toFixed(1)} s`,
    );

    // The floor: the same rows, same columns and order, as text straight out of PostgreSQL.
    started = process.hrtime.bigint();
    const raw = new Counter();
    await pipeline(
      client.query(
        copyTo(
          `COPY (SELECT c.instrument_token, c.time, c.open, c.high, c.low, c.close, c.volume, c.oi, c.iv, c.delta, c.gamma, c.theta, c.vega
                   FROM instruments i JOIN candles_1m c USING (instrument_token)
                  WHERE i.name = '${UNDERLYING}' AND c.time >= '${WINDOW.from}' AND c.time < '${WINDOW.to}'
                  ORDER BY c.instrument_token, c.time) TO STDOUT`,
        ),
      ),
      raw,
    );
    const rawSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    service = await startBuiltService({
      APP_ENV: 'dev',
      DATABASE_URL: db.url,
      DB_MIGRATE_ON_BOOT: 'true',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_CHANNEL_PREFIX: `${uniqueName('bx')}:nifty`,
      QUEUE_PREFIX: uniqueName('bxq'),
      SUBSCRIPTION_EVENTS_ENABLED: 'false',
      BACKFILL_ENABLED: 'false',
      FO_STREAM_ENABLED: 'false',
      INSTRUMENT_LIST_SOURCE: 'off',
      LOG_LEVEL: 'warn',
      ...(process.env.EXPORT_FETCH_ROWS ? { EXPORT_FETCH_ROWS: process.env.EXPORT_FETCH_ROWS } : {}),
    });
    const pid = service.child.pid!;
    const route = (format: string, from = WINDOW.from, to = WINDOW.to): string =>
      `${service!.url}/api/v1/export/candles?underlying=${UNDERLYING}&from=${from}&to=${to}&interval=1m&format=${format}`;
    // Warm: the route's code and the Parquet writer loaded, as in a service that has exported once.
    const warm = await fetch(route('parquet', '2025-11-03T03:45:00Z', '2025-11-03T03:50:00Z'));
    if (!warm.ok) throw new Error(`warm-up export: ${warm.status} ${await warm.text()}`);
    await warm.arrayBuffer();
    global.gc?.();
    const idle = rssMb(pid);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
    const heap = { used: 0, total: 0, external: 0 };
    const metric = (text: string, name: string): number =>
      Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1048576;
    const heapSampler = setInterval(() => {
      void fetch(`${service!.url}/metrics`)
        .then((r) => r.text())
        .then((text) => {
          heap.used = Math.max(heap.used, metric(text, 'nodejs_heap_size_used_bytes'));
          heap.total = Math.max(heap.total, metric(text, 'nodejs_heap_size_total_bytes'));
          heap.external = Math.max(heap.external, metric(text, 'nodejs_external_memory_bytes'));
        })
        .catch(() => undefined);
    }, 250);

    started = process.hrtime.bigint();
    const response = await fetch(route(FORMAT));
    if (!response.ok || !response.body)
      throw new Error(`export: ${response.status} ${await response.text()}`);
    const path = join(dir, 'export.parquet');
    const file = new Counter(createWriteStream(path));
    await pipeline(Readable.fromWeb(response.body as never), file);
    const exportSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    clearInterval(sampler);
    clearInterval(heapSampler);
    console.log(
      `peak heap used ${heap.used.toFixed(0)} MB, heap total ${heap.total.toFixed(0)} MB, external ${heap.external.toFixed(0)} MB`,
    );
    peak = Math.max(peak, rssMb(pid));
    const exported = FORMAT === 'parquet' ? await parquetRows(path) : rows;
    if (exported !== rows) throw new Error(`the file holds ${exported} rows, not ${rows}`);

    console.log(
      `export ${response.headers.get('content-disposition')}: ${(file.bytes / 1e6).toFixed(1)} MB ${FORMAT}; raw COPY text ${(raw.bytes / 1e6).toFixed(1)} MB`,
    );
    const rawRate = rows / rawSeconds;
    console.log(report('raw COPY (SELECT ...) TO STDOUT', rawRate, 'rows/s'));
    console.log(
      report(`export to ${FORMAT} through the route`, rows / exportSeconds, 'rows/s', {
        value: rawRate,
        unit: 'rows/s',
        label: 'raw COPY',
      }),
    );
    console.log(report('export seconds', exportSeconds, 's'));
    console.log(report('service RSS idle (after a warm-up export)', idle, 'MB'));
    console.log(
      report('service RSS peak during the export', peak, 'MB', {
        value: idle + RSS_LIMIT_MB,
        unit: 'MB',
        label: `limit idle + ${RSS_LIMIT_MB} MB`,
      }),
    );
    if (peak > idle + RSS_LIMIT_MB) {
      console.error(`FAIL: peak RSS ${peak.toFixed(0)} MB exceeds idle + ${RSS_LIMIT_MB} MB`);
      process.exitCode = 1;
    }
  } finally {
    if (service && service.child.exitCode === null) {
      const exited = new Promise((done) => service!.child.once('exit', done));
      service.child.kill('SIGTERM');
      await exited;
    }
    await client.end().catch(() => undefined);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
