import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '../database/data-source';
import { newestMinuteSql } from '../market-data/candles.queries';
import {
  BackfillJobRow,
  CoverageRange,
  coverageOf,
  JOB_COLUMNS,
  JOB_COUNT_LIMIT,
  JobFilter,
  storedMinutesOf,
  UnsupportedRow,
  unsupportedOf,
} from './backfill.repository';

/**
 * The backfill API's reads (job records, an instrument's coverage and gaps), on the read pool: a
 * client polling them never takes a connection the backfill writes with. Planning work reads the
 * same tables through BackfillRepository, on the primary.
 */
@Injectable()
export class BackfillQueryRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  coverage(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, CoverageRange[]>> {
    return coverageOf(this.dataSource, tokens, from, to);
  }

  storedMinutes(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, number[]>> {
    return storedMinutesOf(this.dataSource, tokens, from, to);
  }

  findUnsupported(tokens: readonly number[]): Promise<Map<number, UnsupportedRow>> {
    return unsupportedOf(this.dataSource, tokens);
  }

  async lastCandleTime(instrumentToken: number): Promise<Date | null> {
    const rows: { time: Date | null }[] = await this.dataSource.query(
      `SELECT ${newestMinuteSql('$1')} AS time`,
      [instrumentToken],
    );
    return rows[0]?.time ? new Date(rows[0].time) : null;
  }

  async findJob(id: string): Promise<BackfillJobRow | undefined> {
    const rows: BackfillJobRow[] = await this.dataSource.query(
      `SELECT ${JOB_COLUMNS} FROM backfill_jobs WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  /**
   * One page of records, newest first, and how many match: counted up to `countLimit` only, so that
   * a call costs the same however many records the table holds (`capped` when there are more).
   */
  async listJobs(
    filter: JobFilter,
    countLimit = JOB_COUNT_LIMIT,
  ): Promise<{ total: number; capped: boolean; jobs: BackfillJobRow[] }> {
    const where = `($1::bigint IS NULL OR instrument_token = $1) AND ($2::text IS NULL OR state = $2)
                   AND ($3::text IS NULL OR trigger = $3)`;
    const params = [filter.instrumentToken ?? null, filter.state ?? null, filter.trigger ?? null];
    const [count]: { total: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS total FROM (SELECT 1 FROM backfill_jobs WHERE ${where} LIMIT $4) matching`,
      [...params, countLimit + 1],
    );
    const jobs: BackfillJobRow[] = await this.dataSource.query(
      `SELECT ${JOB_COLUMNS} FROM backfill_jobs WHERE ${where}
        ORDER BY requested_at DESC, id LIMIT $4 OFFSET $5`,
      [...params, filter.limit, filter.offset],
    );
    const capped = count.total > countLimit;
    return { total: capped ? countLimit : count.total, capped, jobs };
  }
}
