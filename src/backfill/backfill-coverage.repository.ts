import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

export interface CoverageRange {
  from: Date;
  to: Date;
  candles: number;
  /** Candles stored in the range now; fewer than `candles` means rows were lost since the fetch. */
  stored: number;
}

type Queryable = Pick<DataSource, 'query'>;

// Read on both pools: planning on the primary, the coverage view on the read pool.

/**
 * Coverage of each of `tokens` overlapping `[from, to)`, ranges in time order, with how many candles
 * are stored in each range today. One query for the lot.
 */
export async function coverageOf(
  q: Queryable,
  tokens: readonly number[],
  from: Date,
  to: Date,
): Promise<Map<number, CoverageRange[]>> {
  const rows: {
    instrument_token: string;
    covered_from: Date;
    covered_to: Date;
    candles: number;
    stored: string;
  }[] = await q.query(
    `SELECT c.instrument_token, c.covered_from, c.covered_to, c.candles,
              (SELECT count(*) FROM candles_1m m
                WHERE m.instrument_token = c.instrument_token
                  AND m.time >= c.covered_from AND m.time < c.covered_to) AS stored
         FROM backfill_coverage c
        WHERE c.instrument_token = ANY($1::bigint[]) AND c.covered_to > $2 AND c.covered_from < $3
        ORDER BY c.instrument_token, c.covered_from`,
    [tokens, from, to],
  );
  const byToken = new Map<number, CoverageRange[]>();
  for (const row of rows) {
    const token = Number(row.instrument_token);
    const list = byToken.get(token) ?? [];
    list.push({
      from: new Date(row.covered_from),
      to: new Date(row.covered_to),
      candles: Number(row.candles),
      stored: Number(row.stored),
    });
    byToken.set(token, list);
  }
  return byToken;
}

/**
 * `backfill_coverage` on the ingestion pool: the windows fetched, each with how many candles it held,
 * so that "fetched, nothing there" is never mistaken for "not fetched".
 */
@Injectable()
export class BackfillCoverageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Records a fetched window, merged with the trusted coverage it overlaps or touches, so an instrument
   * keeps a few rows however often its tail is refetched. A merged row's `candles` is what is stored in
   * it at commit (the candles just written included); rows that have lost candles since their fetch are
   * left alone, so the holes in them stay visible. Called after the candles, in the same transaction.
   */
  async addCoverage(
    manager: EntityManager,
    coverage: { instrumentToken: number; from: Date; to: Date; jobId: string; fetchedAt: Date },
  ): Promise<void> {
    if (coverage.to.getTime() <= coverage.from.getTime()) return;
    await manager.query(
      `WITH merged AS (
         DELETE FROM backfill_coverage c
          WHERE c.instrument_token = $1 AND c.covered_to >= $2 AND c.covered_from <= $3
            AND (SELECT count(*) FROM candles_1m m
                  WHERE m.instrument_token = c.instrument_token
                    AND m.time >= c.covered_from AND m.time < c.covered_to) >= c.candles
         RETURNING c.covered_from, c.covered_to
       ), bounds AS (
         SELECT LEAST($2::timestamptz, min(covered_from)) AS f, GREATEST($3::timestamptz, max(covered_to)) AS t
           FROM merged
       )
       INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles, job_id, fetched_at)
       SELECT $1, f, t,
              (SELECT count(*) FROM candles_1m WHERE instrument_token = $1 AND time >= f AND time < t),
              $4, $5
         FROM bounds`,
      [coverage.instrumentToken, coverage.from, coverage.to, coverage.jobId, coverage.fetchedAt],
    );
  }

  coverage(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, CoverageRange[]>> {
    return coverageOf(this.dataSource, tokens, from, to);
  }

  /** `tokens` stalest first: never covered, then by the end of their newest coverage; then by token. */
  async stalestFirst(tokens: readonly number[]): Promise<number[]> {
    if (tokens.length === 0) return [];
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT t.instrument_token
         FROM unnest($1::bigint[]) AS t(instrument_token)
         LEFT JOIN backfill_coverage c ON c.instrument_token = t.instrument_token
        GROUP BY t.instrument_token
        ORDER BY max(c.covered_to) ASC NULLS FIRST, t.instrument_token`,
      [tokens],
    );
    return rows.map((row) => Number(row.instrument_token));
  }
}
