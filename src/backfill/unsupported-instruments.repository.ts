import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

export interface UnsupportedRow {
  instrument_token: string;
  reason: string;
  first_seen_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  failures: number;
}

type Queryable = Pick<DataSource, 'query'>;

/** Whether an unsupported mark still holds at `now` (the instrument is asked for again after it). */
export function isUnsupportedAt(mark: Pick<UnsupportedRow, 'expires_at'>, now: Date): boolean {
  return new Date(mark.expires_at).getTime() > now.getTime();
}

/** Unsupported marks of `tokens`, expired or not (`isUnsupportedAt` tells), by instrument. */
export async function unsupportedOf(
  q: Queryable,
  tokens: readonly number[],
): Promise<Map<number, UnsupportedRow>> {
  const rows: UnsupportedRow[] = await q.query(
    `SELECT instrument_token, reason, first_seen_at, last_seen_at, expires_at, failures
       FROM unsupported_instruments WHERE instrument_token = ANY($1::bigint[])`,
    [tokens],
  );
  return new Map(rows.map((row) => [Number(row.instrument_token), row]));
}

/**
 * `unsupported_instruments` on the ingestion pool: instruments the upstream does not serve, parked
 * until their mark expires (BACKFILL_UNSUPPORTED_TTL_SECONDS).
 */
@Injectable()
export class UnsupportedInstrumentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  find(tokens: readonly number[]): Promise<Map<number, UnsupportedRow>> {
    return unsupportedOf(this.dataSource, tokens);
  }

  async mark(
    instrumentToken: number,
    reason: string,
    now: Date,
    ttlSeconds: number,
    manager?: EntityManager,
  ): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `INSERT INTO unsupported_instruments (instrument_token, reason, first_seen_at, last_seen_at, expires_at)
       VALUES ($1, $2, $3, $3, $3::timestamptz + make_interval(secs => $4))
       ON CONFLICT (instrument_token) DO UPDATE SET reason = EXCLUDED.reason, last_seen_at = EXCLUDED.last_seen_at,
         expires_at = EXCLUDED.expires_at, failures = unsupported_instruments.failures + 1`,
      [instrumentToken, reason.slice(0, 500), now, ttlSeconds],
    );
  }

  async clear(instrumentToken: number, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `DELETE FROM unsupported_instruments WHERE instrument_token = $1`,
      [instrumentToken],
    );
  }

  /** Of `tokens`, those whose mark still holds at `now`. */
  async markedAmong(tokens: readonly number[], now: Date): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT instrument_token FROM unsupported_instruments
        WHERE instrument_token = ANY($1::bigint[]) AND expires_at > $2`,
      [tokens, now],
    );
    return new Set(rows.map((row) => Number(row.instrument_token)));
  }
}
