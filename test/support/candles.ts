import { AggregatedCandleRow } from '../../src/market-data/candles-query.repository';
import { TestDatabase } from './database';

/** One stored row of `candles_1m`, as the pg driver returns it (bigints come back as strings). */
export interface CandleRow extends AggregatedCandleRow {
  instrument_token: string;
  underlying_close: number | null;
  source: string;
}

export interface StoredBar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  source: string;
}

/** A stored row's price, volume and source, volume as a number: to compare with `candleBar`. */
export function storedBar(row: CandleRow): StoredBar {
  return {
    open: row.open,
    high: row.high,
    low: row.low,
    close: row.close,
    volume: Number(row.volume),
    source: row.source,
  };
}

/** The bar a candle (a simulator's, say) should be stored as, with `source`. */
export function candleBar(
  candle: { open: number; high: number; low: number; close: number; volume: number },
  source: string,
): StoredBar {
  return {
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    volume: candle.volume,
    source,
  };
}

const COLUMNS = `instrument_token, time, open, high, low, close, volume, oi, iv, delta, gamma, theta, vega,
  underlying_close, source`;

const iso = (at: number | Date): string => new Date(at).toISOString();

/** The stored minutes of one instrument in time order, optionally only those in [from, to). */
export function storedCandles(
  db: Pick<TestDatabase, 'query'>,
  token: number,
  from?: number | Date,
  to?: number | Date,
): Promise<CandleRow[]> {
  const params: unknown[] = [token];
  let where = 'instrument_token = $1';
  if (from !== undefined) {
    params.push(iso(from));
    where += ` AND time >= $${params.length}`;
  }
  if (to !== undefined) {
    params.push(iso(to));
    where += ` AND time < $${params.length}`;
  }
  return db.query<CandleRow>(`SELECT ${COLUMNS} FROM candles_1m WHERE ${where} ORDER BY time`, params);
}

/** The stored minutes of every instrument from `from` (up to `to`, exclusive), by instrument and time. */
export function storedCandlesBetween(
  db: Pick<TestDatabase, 'query'>,
  from: number | Date,
  to?: number | Date,
): Promise<CandleRow[]> {
  const params: unknown[] = [iso(from)];
  let where = 'time >= $1';
  if (to !== undefined) {
    params.push(iso(to));
    where += ' AND time < $2';
  }
  return db.query<CandleRow>(
    `SELECT ${COLUMNS} FROM candles_1m WHERE ${where} ORDER BY instrument_token, time`,
    params,
  );
}
