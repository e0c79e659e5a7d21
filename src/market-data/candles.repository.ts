import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource, EntityManager } from 'typeorm';
import { CandleAggregatesRefresher } from './candle-aggregates.refresher';
import { Candle } from './market-data.types';

// Rows are passed as one array per column through unnest(), so a batch of any size binds 14
// parameters and never approaches PostgreSQL's 65,535-parameter limit.
const COLUMNS_FROM_ARRAYS = `
  SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::float8[], $4::float8[], $5::float8[], $6::float8[],
                       $7::bigint[], $8::bigint[], $9::float8[], $10::float8[], $11::float8[], $12::float8[],
                       $13::float8[], $14::float8[])`;

const INSERT_COLUMNS = `instrument_token, time, open, high, low, close, volume, oi, iv, delta, gamma, theta, vega, underlying_close`;

/**
 * History upsert. A history candle is the truth of its minute for what it states: OHLCV and OI replace
 * whatever is stored (a stream-built bar, or an older history value, since the newest minute keeps
 * changing until the next one starts). Greeks and the underlying level are kept where the candle has
 * none (Kite's historical API never sends greeks): history must not erase what it does not know.
 * A row is rewritten only when its merged values differ from the stored ones (null-aware, every column
 * history can fill), so an identical refetch writes nothing and one that brings greeks does.
 */
const HISTORY_MERGED = `EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume, EXCLUDED.oi,
    COALESCE(EXCLUDED.iv, candles_1m.iv), COALESCE(EXCLUDED.delta, candles_1m.delta),
    COALESCE(EXCLUDED.gamma, candles_1m.gamma), COALESCE(EXCLUDED.theta, candles_1m.theta),
    COALESCE(EXCLUDED.vega, candles_1m.vega), COALESCE(EXCLUDED.underlying_close, candles_1m.underlying_close)`;
const HISTORY_FILLED = `open, high, low, close, volume, oi, iv, delta, gamma, theta, vega, underlying_close`;
const HISTORY_STORED = HISTORY_FILLED.split(', ')
  .map((column) => `candles_1m.${column}`)
  .join(', ');
const UPSERT_HISTORY = `
  INSERT INTO candles_1m (${INSERT_COLUMNS}, source, updated_at)
  SELECT c.*, 'history', now() FROM (${COLUMNS_FROM_ARRAYS}) AS c
  ON CONFLICT (instrument_token, time) DO UPDATE SET
    (${HISTORY_FILLED}) = (${HISTORY_MERGED}), source = 'history', updated_at = now()
  WHERE candles_1m.source = 'stream'
     OR (${HISTORY_STORED}) IS DISTINCT FROM (${HISTORY_MERGED})`;

/**
 * Large history batches travel by COPY into a session-local staging table and are merged from there
 * with the same rule as UPSERT_HISTORY: COPY's text parsing is several times cheaper than binding
 * arrays, which dominated the upsert (see docs/PERFORMANCE.md). Small batches keep the one-statement
 * path, where the extra round trips of COPY would cost more than they save.
 */
const COPY_THRESHOLD = 1000;
const STAGING_TABLE = 'candles_1m_staging';
const CREATE_STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS ${STAGING_TABLE} (
    instrument_token bigint, time timestamptz, open float8, high float8, low float8, close float8,
    volume bigint, oi bigint, iv float8, delta float8, gamma float8, theta float8, vega float8,
    underlying_close float8
  ) ON COMMIT DELETE ROWS`;
const MERGE_HISTORY_FROM_STAGING = UPSERT_HISTORY.replace(
  `(${COLUMNS_FROM_ARRAYS})`,
  `(SELECT * FROM ${STAGING_TABLE})`,
);

// COPY's binary format: printing a million floats as text costs more than the database's share of
// the work, while writing their eight bytes costs next to nothing.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
const FIELDS = 14;
const ROW_BYTES = 2 + FIELDS * (4 + 8);
const ROWS_PER_CHUNK = 2000;

class BinaryRows {
  private offset = 0;
  constructor(readonly buffer: Buffer) {}
  int16(value: number): void {
    this.offset = this.buffer.writeInt16BE(value, this.offset);
  }
  int64(value: number): void {
    const high = Math.floor(value / 4294967296);
    this.offset = this.buffer.writeInt32BE(8, this.offset);
    this.offset = this.buffer.writeInt32BE(high, this.offset);
    this.offset = this.buffer.writeUInt32BE(value - high * 4294967296, this.offset);
  }
  float8(value: number | null): void {
    if (value === null) {
      this.offset = this.buffer.writeInt32BE(-1, this.offset);
      return;
    }
    this.offset = this.buffer.writeInt32BE(8, this.offset);
    this.offset = this.buffer.writeDoubleBE(value, this.offset);
  }
  nullableInt64(value: number | null): void {
    if (value === null) this.offset = this.buffer.writeInt32BE(-1, this.offset);
    else this.int64(value);
  }
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }
}

function* binaryChunks(candles: readonly Candle[]): Generator<Buffer> {
  const header = Buffer.alloc(COPY_SIGNATURE.length + 8);
  COPY_SIGNATURE.copy(header);
  yield header;
  for (let start = 0; start < candles.length; start += ROWS_PER_CHUNK) {
    const slice = candles.slice(start, start + ROWS_PER_CHUNK);
    const rows = new BinaryRows(Buffer.allocUnsafe(slice.length * ROW_BYTES));
    for (const c of slice) {
      rows.int16(FIELDS);
      rows.int64(c.instrumentToken);
      rows.int64((c.time.getTime() - POSTGRES_EPOCH_MS) * 1000);
      rows.float8(c.open);
      rows.float8(c.high);
      rows.float8(c.low);
      rows.float8(c.close);
      rows.int64(Math.round(c.volume));
      rows.nullableInt64(c.oi === null ? null : Math.round(c.oi));
      rows.float8(c.iv);
      rows.float8(c.delta);
      rows.float8(c.gamma);
      rows.float8(c.theta);
      rows.float8(c.vega);
      rows.float8(c.underlyingClose);
    }
    yield rows.bytes;
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  yield trailer;
}

/**
 * Stream merge: a bar built from ticks is stored only where no history candle exists. Every stream
 * write carries the minute's full bar as the writing replica knows it (never a part of it), so the
 * merge is idempotent: a retried write, or the same minute written by each replica, changes nothing,
 * and a fuller state of the minute (a late tick folded in) replaces the stored one. high = max,
 * low = min, volume = the larger total (never summed), open = the open of the more complete bar,
 * close = the newest write's close, OI, greeks and underlying level = the newest known value.
 */
const MERGE_STREAM = `
  INSERT INTO candles_1m (${INSERT_COLUMNS}, source, updated_at)
  SELECT c.*, 'stream', now() FROM (${COLUMNS_FROM_ARRAYS}) AS c
  ON CONFLICT (instrument_token, time) DO UPDATE SET
    open = CASE WHEN EXCLUDED.volume > candles_1m.volume THEN EXCLUDED.open ELSE candles_1m.open END,
    high = GREATEST(candles_1m.high, EXCLUDED.high), low = LEAST(candles_1m.low, EXCLUDED.low),
    close = EXCLUDED.close, volume = GREATEST(candles_1m.volume, EXCLUDED.volume),
    oi = COALESCE(EXCLUDED.oi, candles_1m.oi), iv = COALESCE(EXCLUDED.iv, candles_1m.iv),
    delta = COALESCE(EXCLUDED.delta, candles_1m.delta), gamma = COALESCE(EXCLUDED.gamma, candles_1m.gamma),
    theta = COALESCE(EXCLUDED.theta, candles_1m.theta), vega = COALESCE(EXCLUDED.vega, candles_1m.vega),
    underlying_close = COALESCE(EXCLUDED.underlying_close, candles_1m.underlying_close), updated_at = now()
  WHERE candles_1m.source = 'stream'`;

function toColumns(candles: readonly Candle[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 14 }, () => new Array<unknown>(candles.length));
  candles.forEach((c, i) => {
    columns[0][i] = c.instrumentToken;
    columns[1][i] = c.time.toISOString();
    columns[2][i] = c.open;
    columns[3][i] = c.high;
    columns[4][i] = c.low;
    columns[5][i] = c.close;
    columns[6][i] = Math.round(c.volume);
    columns[7][i] = c.oi === null ? null : Math.round(c.oi);
    columns[8][i] = c.iv;
    columns[9][i] = c.delta;
    columns[10][i] = c.gamma;
    columns[11][i] = c.theta;
    columns[12][i] = c.vega;
    columns[13][i] = c.underlyingClose;
  });
  return columns;
}

/**
 * Inside the window a history answer is trusted to span, a minute it leaves empty had no trade: a
 * stream bar stored there (a tick stamped into the minute by the ticker's processing time, a quote
 * repeat) is removed. Run after the upsert, when every answered minute is already `history`, so only
 * the empty minutes' stream bars match; history rows are never removed here.
 */
const REMOVE_UNANSWERED_STREAM_BARS = `
  DELETE FROM candles_1m
   WHERE instrument_token = $1 AND time >= $2 AND time < $3 AND source = 'stream'`;

/** The instrument and window `[from, to)` a history answer is trusted to span. */
export interface HistoryWindow {
  instrumentToken: number;
  from: Date;
  to: Date;
}

/** Minute starts (ms) of the candles stored in `[from, to)`, by instrument, in time order. One query. */
export async function storedMinutesOf(
  q: Pick<DataSource, 'query'>,
  tokens: readonly number[],
  from: Date,
  to: Date,
): Promise<Map<number, number[]>> {
  const rows: { instrument_token: string; time: Date }[] = await q.query(
    `SELECT instrument_token, time FROM candles_1m
      WHERE instrument_token = ANY($1::bigint[]) AND time >= $2 AND time < $3
      ORDER BY instrument_token, time`,
    [tokens, from, to],
  );
  const byToken = new Map<number, number[]>();
  for (const row of rows) {
    const token = Number(row.instrument_token);
    const list = byToken.get(token) ?? [];
    list.push(new Date(row.time).getTime());
    byToken.set(token, list);
  }
  return byToken;
}

/** Pooled connections that already hold the staging table (it lives as long as the session). */
const stagedClients = new WeakSet<PoolClient>();

/**
 * The only writer of `candles_1m` (and the backfill planner's reader of what it stores). Pass an EntityManager to write inside a caller's transaction.
 * Both writes are idempotent: history replaces stream bars, and stream bars are full-state merges.
 */
@Injectable()
export class CandlesRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() private readonly aggregates?: CandleAggregatesRefresher,
  ) {}

  /** Which minutes of `[from, to)` each of `tokens` has stored (see `storedMinutesOf`). */
  storedMinutes(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, number[]>> {
    return storedMinutesOf(this.dataSource, tokens, from, to);
  }

  /**
   * After a commit that changed `rows` history rows in [from, to]: brings the continuous aggregates
   * (TimescaleDB) over that window up to date, in the background. Returns at once, never throws.
   */
  refreshAggregates(from: Date, to: Date, rows: number): void {
    if (rows > 0) this.aggregates?.schedule(from, to);
  }

  /**
   * Upserts history candles and, when `window` is given, removes the stream bars of the minutes in it
   * that the answer leaves empty (both in one transaction). Returns the rows inserted, changed or
   * removed.
   */
  async upsertHistory(
    candles: readonly Candle[],
    manager?: EntityManager,
    window?: HistoryWindow,
  ): Promise<number> {
    if (manager?.queryRunner?.isTransactionActive) return this.writeHistory(candles, manager, window);
    if (!window && candles.length < COPY_THRESHOLD) return this.write(UPSERT_HISTORY, candles, manager);
    // The staging rows live until the end of the transaction, and a removal commits with its upsert.
    return this.dataSource.transaction((own) => this.writeHistory(candles, own, window));
  }

  /**
   * Merges stream-built bars, each the full bar of its minute as this replica knows it (the write is
   * idempotent: retries and replicas never add volume twice); history minutes are left alone.
   */
  async mergeStreamBars(bars: readonly Candle[], manager?: EntityManager): Promise<number> {
    return this.write(MERGE_STREAM, bars, manager);
  }

  private async writeHistory(
    candles: readonly Candle[],
    manager: EntityManager,
    window?: HistoryWindow,
  ): Promise<number> {
    const written =
      candles.length < COPY_THRESHOLD
        ? await this.write(UPSERT_HISTORY, candles, manager)
        : await this.copyAndMerge(candles, manager);
    return window ? written + (await this.removeUnansweredStreamBars(window, manager)) : written;
  }

  private async removeUnansweredStreamBars(window: HistoryWindow, manager: EntityManager): Promise<number> {
    if (window.to.getTime() <= window.from.getTime()) return 0;
    const rows: { removed: number }[] = await manager.query(
      `WITH d AS (${REMOVE_UNANSWERED_STREAM_BARS} RETURNING 1) SELECT count(*)::int AS removed FROM d`,
      [window.instrumentToken, window.from.toISOString(), window.to.toISOString()],
    );
    return rows[0].removed;
  }

  private async copyAndMerge(candles: readonly Candle[], manager: EntityManager): Promise<number> {
    // The postgres driver's query runner holds the pool client of the transaction.
    const client = (manager.queryRunner as unknown as { databaseConnection?: PoolClient } | undefined)
      ?.databaseConnection;
    if (!client) return this.write(UPSERT_HISTORY, candles, manager);
    if (!stagedClients.has(client)) {
      await client.query(CREATE_STAGING);
      stagedClients.add(client);
    }
    // A second batch in the same transaction must not see the first one's rows (empty otherwise).
    await client.query(`DELETE FROM ${STAGING_TABLE}`);
    await pipeline(
      Readable.from(binaryChunks(candles)),
      client.query(copyFrom(`COPY ${STAGING_TABLE} FROM STDIN WITH (FORMAT binary)`)),
    );
    // On the pool client itself: its result carries the row count without a RETURNING pass.
    const result = await client.query(MERGE_HISTORY_FROM_STAGING);
    return result.rowCount ?? 0;
  }

  private async write(sql: string, candles: readonly Candle[], manager?: EntityManager): Promise<number> {
    if (candles.length === 0) return 0;
    const runner = manager ?? this.dataSource.manager;
    // Counted in SQL: TypeORM's raw query result carries no row count for an INSERT.
    const rows: { written: number }[] = await runner.query(
      `WITH w AS (${sql} RETURNING 1) SELECT count(*)::int AS written FROM w`,
      toColumns(candles),
    );
    return rows[0].written;
  }
}
