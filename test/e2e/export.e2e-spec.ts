import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { getDataSourceToken } from '@nestjs/typeorm';
import { tableFromIPC } from 'apache-arrow';
import { parse } from 'csv-parse/sync';
import { readParquet } from 'parquet-wasm';
import type { Pool } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { RunningSimulator } from '../../simulator/simulator';
import { FixedClock } from '../../src/contracts/market-time';
import { READ_DATA_SOURCE } from '../../src/database/data-source';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase } from '../support/database';
import { TcpProxy } from '../support/tcp-proxy';
import { uniqueName } from '../support/env';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 11:00:30 IST (the 5th is a holiday): the five sessions of the lookback are 30
// and 31 October, 3, 4 and 6 November.
const NOW = '2025-11-06T05:30:30.000Z';
const FROM = '2025-10-30T03:45:00Z';
const TO = '2025-11-06T10:00:00Z';
const TOKENS = [333765378, 904135682, 1091680770];
/** An instrument with a long synthetic history, for a file far larger than the socket buffers. */
const BULKY = 999_000_001;

type Candle = Record<string, number | string | null>;
const GREEKS = ['iv', 'delta', 'gamma', 'theta', 'vega'];

/** A file's row as the candles API writes a candle: greeks only where known. */
function asApiCandle(row: Record<string, unknown>): Candle {
  const num = (value: unknown): number | null =>
    value === null || value === undefined || value === '' ? null : Number(value);
  const candle: Candle = {
    // CSV: ISO text; DuckDB (epoch_ms) and Arrow: milliseconds since the epoch.
    time: new Date(typeof row.time === 'string' ? row.time : Number(row.time)).toISOString(),
    open: num(row.open),
    high: num(row.high),
    low: num(row.low),
    close: num(row.close),
    volume: num(row.volume),
    oi: num(row.oi),
  };
  for (const greek of GREEKS) if (num(row[greek]) !== null) candle[greek] = num(row[greek]);
  return candle;
}

function byToken(rows: Record<string, unknown>[]): Map<number, Candle[]> {
  const out = new Map<number, Candle[]>();
  for (const row of rows) {
    const token = Number(row.instrument_token);
    out.set(token, [...(out.get(token) ?? []), asApiCandle(row)]);
  }
  return out;
}

const binary = (res: request.Response, callback: (error: Error | null, body: Buffer) => void): void => {
  const stream = res as unknown as IncomingMessage;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
};

describe('export of candles as CSV and Parquet', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let app: TestApp;
  let dir: string;
  let duck: DuckDBInstance;

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('sim')}:nifty`;
    sim = await startHistorySimulator(channelPrefix, clock);
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        BACKFILL_ENABLED: 'true',
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        EXPORT_FETCH_ROWS: '500',
        EXPORT_PARQUET_ROW_GROUP_ROWS: '2000',
      },
    });
    for (const token of TOKENS) await sim.subscribe(token);
    for (const token of TOKENS)
      await waitFor(
        `backfill of ${token}`,
        async () => {
          const res = await request(app.url)
            .get('/api/v1/backfill/jobs')
            .query({ instrument_token: token, state: 'succeeded' });
          return res.body.total >= 1;
        },
        { timeoutMs: 30_000 },
      );
    dir = mkdtempSync(join(tmpdir(), 'export-'));
    duck = await DuckDBInstance.create(':memory:');
  }, 60_000);

  afterAll(async () => {
    duck?.closeSync();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await app?.close();
    await sim?.stop();
  });

  async function api(token: number, interval: string): Promise<Candle[]> {
    const res = await request(app.url)
      .get(`/api/v1/instruments/${token}/candles`)
      .query({ from: FROM, to: TO, interval })
      .expect(200);
    return res.body.candles;
  }

  async function exported(format: string, interval: string): Promise<request.Response> {
    return request(app.url)
      .get('/api/v1/export/candles')
      .query({ tokens: TOKENS.join(','), from: FROM, to: TO, interval, format })
      .buffer(true)
      .parse(binary)
      .expect(200);
  }

  async function expectEqualToApi(files: Map<number, Candle[]>, interval: string): Promise<void> {
    expect([...files.keys()]).toEqual(TOKENS);
    for (const token of TOKENS) {
      const candles = await api(token, interval);
      expect(candles.length).toBeGreaterThan(interval === '1d' ? 4 : 300);
      expect(files.get(token)).toEqual(candles);
    }
    // Greeks included: the options have them.
    expect([...files.values()].flat().some((candle) => typeof candle.iv === 'number')).toBe(true);
  }

  describe.each(['1m', '1d'])('at %s', (interval) => {
    it('CSV equals the candles API row for row', async () => {
      const res = await exported('csv', interval);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(
        `attachment; filename="candles_3-instruments_${interval}_${interval === '1d' ? '20251029T1830Z_20251106T1830Z' : '20251030T0345Z_20251106T1000Z'}.csv"`,
      );
      const rows = parse(res.body as Buffer, { columns: true }) as Record<string, string>[];
      expect(Object.keys(rows[0])).toEqual([
        'instrument_token',
        'time',
        'open',
        'high',
        'low',
        'close',
        'volume',
        'oi',
        ...GREEKS,
      ]);
      await expectEqualToApi(byToken(rows), interval);
    });

    it('Parquet read by DuckDB and by Arrow equals the candles API row for row, with proper types', async () => {
      const res = await exported('parquet', interval);
      expect(res.headers['content-type']).toBe('application/vnd.apache.parquet');
      expect(res.headers['content-disposition']).toMatch(/filename="candles_3-instruments_.*\.parquet"$/);
      const file = join(dir, `export-${interval}.parquet`);
      writeFileSync(file, res.body as Buffer);

      const connection = await duck.connect();
      try {
        const types = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
        expect(
          Object.fromEntries(types.getRowObjectsJson().map((r) => [r.column_name, r.column_type])),
        ).toEqual({
          instrument_token: 'BIGINT',
          time: 'TIMESTAMP WITH TIME ZONE',
          open: 'DOUBLE',
          high: 'DOUBLE',
          low: 'DOUBLE',
          close: 'DOUBLE',
          volume: 'BIGINT',
          oi: 'BIGINT',
          iv: 'DOUBLE',
          delta: 'DOUBLE',
          gamma: 'DOUBLE',
          theta: 'DOUBLE',
          vega: 'DOUBLE',
        });
        const compression = await connection.runAndReadAll(
          `SELECT DISTINCT compression FROM parquet_metadata('${file}')`,
        );
        expect(compression.getRowObjectsJson()).toEqual([{ compression: 'ZSTD' }]);
        const read = await connection.runAndReadAll(
          `SELECT * REPLACE (epoch_ms(time) AS time) FROM read_parquet('${file}')`,
        );
        await expectEqualToApi(byToken(read.getRowObjectsJS() as Record<string, unknown>[]), interval);
      } finally {
        connection.closeSync();
      }

      const table = tableFromIPC(readParquet(res.body as Buffer).intoIPCStream());
      expect(String(table.schema.fields.find((f) => f.name === 'time')?.type)).toBe(
        'Timestamp<MILLISECOND, UTC>',
      );
      await expectEqualToApi(byToken(table.toArray().map((row) => row.toJSON())), interval);
    });
  });

  it('selects by underlying and expiry as by tokens', async () => {
    const [{ name, expiry }] = await app.database.query<{ name: string; expiry: string }>(
      `SELECT name, to_char(expiry, 'YYYY-MM-DD') AS expiry FROM instruments WHERE instrument_token = $1`,
      [TOKENS[0]],
    );
    const res = await request(app.url)
      .get('/api/v1/export/candles')
      .query({ underlying: name.toLowerCase(), expiry, from: FROM, to: TO, interval: '1d' })
      .expect(200);
    expect(res.headers['content-disposition']).toContain(`candles_${name}_${expiry}_1d_`);
    const rows = parse(res.text, { columns: true }) as { instrument_token: string }[];
    const tokens = new Set(rows.map((row) => Number(row.instrument_token)));
    expect(tokens.has(TOKENS[0])).toBe(true);
    // Given together, the tokens that are of the underlying and expiry.
    const both = await request(app.url)
      .get('/api/v1/export/candles')
      .query({ tokens: TOKENS.join(','), underlying: name, expiry, from: FROM, to: TO, interval: '1d' })
      .expect(200);
    const among = parse(both.text, { columns: true }) as { instrument_token: string }[];
    expect(new Set(among.map((row) => Number(row.instrument_token)))).toEqual(
      new Set(TOKENS.filter((token) => tokens.has(token))),
    );
    await request(app.url)
      .get('/api/v1/export/candles')
      .query({ underlying: 'NOSUCH', from: FROM, to: TO })
      .expect(404);
  });

  it.each([
    ['an undeclared parameter', { tokens: '1', limit: '5' }],
    ['no selection', { from: FROM, to: TO }],
    ['a malformed token list', { tokens: '1,,2' }],
    ['an unknown format', { tokens: '1', format: 'xlsx' }],
    ['an unknown interval', { tokens: '1', interval: '2m' }],
    ['a zone-less instant', { tokens: '1', from: '2025-11-03T09:15:00' }],
    ['a window longer than the export allows at 1m', { tokens: '1', from: '2024-01-01T00:00:00Z', to: TO }],
    ['to before from', { tokens: '1', from: TO, to: FROM }],
  ])('refuses %s with a 400', async (_what, query) => {
    const res = await request(app.url).get('/api/v1/export/candles').query(query).expect(400);
    expect(res.body.errors.length).toBeGreaterThan(0);
  });

  it('gives the connection back when the client leaves mid-stream', async () => {
    // About 14 MB of CSV: far more than the socket buffers hold, so the server waits on the client.
    await app.database.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
       SELECT $1, t, 100, 101, 99, 100.5, 10, 1000, 'history'
         FROM generate_series('2025-06-02T03:45:00Z'::timestamptz, '2025-06-02T03:45:00Z'::timestamptz + interval '199999 minutes', interval '1 minute') AS t`,
      [BULKY],
    );
    const pool = (app.app.get<DataSource>(getDataSourceToken(READ_DATA_SOURCE)).driver as PostgresDriver)
      .master as Pool;
    const inUse = (): number => pool.totalCount - pool.idleCount;
    const url = `${app.url}/api/v1/export/candles?tokens=${BULKY}&from=2025-06-01T00:00:00Z&to=2025-11-01T00:00:00Z`;
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(url, resolve).on('error', reject),
    );
    expect(response.statusCode).toBe(200);
    response.pause();
    await waitFor('the export to hold a read connection', () => inUse() === 1);
    // Still held while the client reads nothing: the server is waiting on it, mid-file.
    response.destroy();
    await waitFor('the read connection to be given back', () => inUse() === 0, { timeoutMs: 5000 });
    await waitFor('no statement left running for the export', async () => {
      const sessions = await app.database.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'mds-read'
            AND state <> 'idle'`,
      );
      return sessions.length === 0;
    });
  });
});

describe('export while PostgreSQL goes away', () => {
  let proxy: TcpProxy;
  let app: TestApp;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    proxy = await TcpProxy.forUrl(database.url).start();
    app = await startTestApp({ database, env: { DATABASE_URL: proxy.rewrite(database.url) } });
    await database.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
       SELECT $1, t, 100, 101, 99, 100.5, 10, 1000, 'history'
         FROM generate_series('2025-06-02T03:45:00Z'::timestamptz, '2025-06-02T03:45:00Z'::timestamptz + interval '199999 minutes', interval '1 minute') AS t`,
      [BULKY],
    );
  });

  afterAll(async () => {
    proxy?.restore();
    await app?.close();
    await proxy?.stop();
    await database?.drop();
  });

  const url = (): string =>
    `${app.url}/api/v1/export/candles?tokens=${BULKY}&from=2025-06-01T00:00:00Z&to=2025-11-01T00:00:00Z`;

  it('answers 503 with Retry-After before the stream starts, and cuts the response short once it has', async () => {
    proxy.cut();
    try {
      const refused = await request(app.url)
        .get('/api/v1/export/candles')
        .query({ tokens: String(BULKY), from: '2025-06-01T00:00:00Z', to: '2025-07-01T00:00:00Z' })
        .expect(503);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      proxy.restore();
    }

    await waitFor(
      'the database back',
      async () => {
        const back = await fetch(url());
        await back.arrayBuffer();
        return back.ok;
      },
      { timeoutMs: 15_000 },
    );
    const response = await new Promise<IncomingMessage>((resolve, reject) =>
      get(url(), resolve).on('error', reject),
    );
    expect(response.statusCode).toBe(200);
    const ended = new Promise<string>((resolve) => {
      response.on('end', () => resolve('complete'));
      response.on('aborted', () => resolve('aborted'));
      response.on('error', () => resolve('aborted'));
    });
    response.pause();
    const pool = (app.app.get<DataSource>(getDataSourceToken(READ_DATA_SOURCE)).driver as PostgresDriver)
      .master as Pool;
    await waitFor('the export mid-file', () => pool.totalCount - pool.idleCount === 1);
    proxy.cut();
    response.resume();
    expect(await ended).toBe('aborted');
    proxy.restore();
    await waitFor('no connection held', () => pool.totalCount - pool.idleCount === 0);
  });
});
