import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '../database/data-source';
import type { Bucketing } from './candle-intervals';

export interface AggregatedCandleRow {
  time: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: string;
  oi: string | null;
  iv: number | null;
  delta: number | null;
  gamma: number | null;
  theta: number | null;
  vega: number | null;
}

/** The columns of every candles statement, in this order (an export reads its rows as arrays). */
export const CANDLE_COLUMNS = [
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
] as const;

export interface CandlesStatement {
  text: string;
  values: unknown[];
}

// Last non-null: a level (OI, a greek) the bucket's last minute lacks is still the bucket's last known
// value; TimescaleDB's last() and a plain array_agg()[1] would both return that minute's null.
const LAST = (column: string): string =>
  `(array_agg(${column} ORDER BY time DESC) FILTER (WHERE ${column} IS NOT NULL))[1] AS ${column}`;
const AGGREGATES = `(array_agg(open ORDER BY time))[1] AS open, max(high) AS high, min(low) AS low,
  ${LAST('close')}, sum(volume)::bigint AS volume, ${LAST('oi')}, ${LAST('iv')}, ${LAST('delta')},
  ${LAST('gamma')}, ${LAST('theta')}, ${LAST('vega')}`;

/** The 1-minute candles of one instrument in [from, to), ascending. */
export function minutesStatement(instrumentToken: number, from: Date, to: Date): CandlesStatement {
  return {
    text: `SELECT ${CANDLE_COLUMNS.join(', ')} FROM candles_1m
        WHERE instrument_token = $1 AND time >= $2 AND time < $3 ORDER BY time`,
    values: [instrumentToken, from, to],
  };
}

/**
 * Buckets of `widthSeconds` aligned on `originSeconds`, ascending. TimescaleDB's time_bucket where
 * present; elsewhere the same arithmetic on epoch seconds, which gives identical buckets.
 */
export function bucketsStatement(
  instrumentToken: number,
  from: Date,
  to: Date,
  bucketing: Bucketing,
  timescaledb: boolean,
): CandlesStatement {
  const bucket = timescaledb
    ? `time_bucket(make_interval(secs => $4), time, to_timestamp($5))`
    : `to_timestamp(floor((extract(epoch FROM time)::float8 - $5) / $4) * $4 + $5)`;
  return {
    text: `SELECT ${bucket} AS time, ${AGGREGATES}
         FROM candles_1m
        WHERE instrument_token = $1 AND time >= $2 AND time < $3
        GROUP BY 1 ORDER BY 1`,
    values: [instrumentToken, from, to, bucketing.widthSeconds, bucketing.originSeconds],
  };
}

/** The statement of one instrument's candles in a window at its interval (1m reads the minutes as stored). */
export function candlesStatement(
  instrumentToken: number,
  window: { interval: string; start: Date; end: Date; bucketing: Bucketing },
  timescaledb: boolean,
): CandlesStatement {
  return window.interval === '1m'
    ? minutesStatement(instrumentToken, window.start, window.end)
    : bucketsStatement(instrumentToken, window.start, window.end, window.bucketing, timescaledb);
}

/** Reads of `candles_1m` for the API, on the read pool; every interval is aggregated from the minutes in SQL. */
@Injectable()
export class CandlesQueryRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async minutes(instrumentToken: number, from: Date, to: Date): Promise<AggregatedCandleRow[]> {
    const { text, values } = minutesStatement(instrumentToken, from, to);
    return this.dataSource.query(text, values);
  }

  async buckets(
    instrumentToken: number,
    from: Date,
    to: Date,
    bucketing: Bucketing,
    timescaledb: boolean,
  ): Promise<AggregatedCandleRow[]> {
    const { text, values } = bucketsStatement(instrumentToken, from, to, bucketing, timescaledb);
    return this.dataSource.query(text, values);
  }
}
