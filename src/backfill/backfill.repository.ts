import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { BackfillTrigger } from './backfill.requests';

export type BackfillJobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
export const BACKFILL_JOB_STATES: readonly BackfillJobState[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
];

export interface BackfillJobRow {
  id: string;
  instrument_token: string;
  trigger: BackfillTrigger;
  window_from: Date;
  window_to: Date;
  state: BackfillJobState;
  attempts: number;
  rows_written: number;
  error: string | null;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  time_to_data_ms: number | null;
}

export interface NewJobRecord {
  id: string;
  instrumentToken: number;
  trigger: BackfillTrigger;
  from: Date;
  to: Date;
  requestedAt: Date;
}

export interface CoverageRange {
  from: Date;
  to: Date;
  candles: number;
  /** Candles stored in the range now; fewer than `candles` means rows were lost since the fetch. */
  stored: number;
}

export interface UnsupportedRow {
  instrument_token: string;
  reason: string;
  first_seen_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  failures: number;
}

type Queryable = Pick<DataSource, 'query'>;

export interface JobFilter {
  instrumentToken?: number;
  state?: BackfillJobState;
  trigger?: BackfillTrigger;
  limit: number;
  offset: number;
}

/** Whether an unsupported mark still holds at `now` (the instrument is asked for again after it). */
export function isUnsupportedAt(mark: Pick<UnsupportedRow, 'expires_at'>, now: Date): boolean {
  return new Date(mark.expires_at).getTime() > now.getTime();
}

/**
 * A job record queued or running for longer than this no longer keeps its instrument out of the
 * cycle: its queue entry may have been lost (a Redis flush), and a duplicate request is harmless.
 */
const PENDING_HORIZON_SECONDS = 3600;

/** `GET /api/v1/backfill/jobs` counts matching records up to this many. */
export const JOB_COUNT_LIMIT = 10_000;

export const JOB_COLUMNS = `id, instrument_token, trigger, window_from, window_to, state, attempts, rows_written, error,
  requested_at, started_at, finished_at, duration_ms, time_to_data_ms`;

/** `unnest` arrays of job records: id, token, trigger, window, requested at. */
function recordColumns(jobs: readonly NewJobRecord[]): unknown[] {
  return [
    jobs.map((j) => j.id),
    jobs.map((j) => j.instrumentToken),
    jobs.map((j) => j.trigger),
    jobs.map((j) => j.from.toISOString()),
    jobs.map((j) => j.to.toISOString()),
    jobs.map((j) => j.requestedAt.toISOString()),
  ];
}

// Reads both pools make: planning on the primary, the coverage view on the read pool.

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

/** Minute starts (ms) of the candles stored in `[from, to)`, by instrument, in time order. One query. */
export async function storedMinutesOf(
  q: Queryable,
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
 * The backfill's SQL on the ingestion pool: job records, coverage, unsupported instruments, work
 * selection. The API's views of them read through BackfillQueryRepository, on the read pool.
 */
@Injectable()
export class BackfillRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** One round trip: whether the database answers at all. */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  /**
   * Records freshly enqueued jobs; a record that exists (its job ran before or is queued or running)
   * is kept. Returns the ids of the records created.
   */
  async insertQueued(jobs: readonly NewJobRecord[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const rows: { id: string }[] = await this.dataSource.query(
      `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, requested_at)
       SELECT id, token, trigger, wfrom, wto, 'queued', requested
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
              AS j(id, token, trigger, wfrom, wto, requested)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      recordColumns(jobs),
    );
    return rows.map((row) => row.id);
  }

  /** Records of jobs that had ended (or were gone) and run again: each starts over as a new run. */
  async restart(jobs: readonly NewJobRecord[]): Promise<string[]> {
    if (jobs.length === 0) return [];
    const [rows]: [{ id: string }[], number] = await this.dataSource.query(
      `UPDATE backfill_jobs b SET state = 'queued', trigger = j.trigger, requested_at = j.requested,
         attempts = 0, rows_written = 0, error = NULL, started_at = NULL, finished_at = NULL,
         duration_ms = NULL, time_to_data_ms = NULL, updated_at = now()
         FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
              AS j(id, token, trigger, wfrom, wto, requested)
        WHERE b.id = j.id
       RETURNING b.id`,
      recordColumns(jobs),
    );
    return rows.map((row) => row.id);
  }

  /**
   * Records that say `queued` or `running` and have not changed for `quietSeconds` (database time:
   * a request writes its records at most ENQUEUE_TIMEOUT_MS before its jobs reach the queue), oldest
   * first: each must have a job in the queue.
   */
  async pendingRecords(
    quietSeconds: number,
    limit: number,
  ): Promise<(NewJobRecord & { state: BackfillJobState })[]> {
    const rows: {
      id: string;
      instrument_token: string;
      trigger: BackfillTrigger;
      window_from: Date;
      window_to: Date;
      requested_at: Date;
      state: BackfillJobState;
    }[] = await this.dataSource.query(
      `SELECT id, instrument_token, trigger, window_from, window_to, requested_at, state FROM backfill_jobs
        WHERE state IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $1)
        ORDER BY updated_at LIMIT $2`,
      [quietSeconds, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      instrumentToken: Number(row.instrument_token),
      trigger: row.trigger,
      from: new Date(row.window_from),
      to: new Date(row.window_to),
      requestedAt: new Date(row.requested_at),
      state: row.state,
    }));
  }

  /** Ids of the records of `tokens` whose jobs may still be waiting in the queue. */
  async pendingJobIds(tokens: readonly number[]): Promise<string[]> {
    if (tokens.length === 0) return [];
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[]) AND state IN ('queued', 'running')`,
      [tokens],
    );
    return rows.map((row) => row.id);
  }

  /** Removes records created for jobs that never reached the queue. */
  async deleteUnstarted(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(
      `DELETE FROM backfill_jobs WHERE id = ANY($1::text[]) AND state = 'queued' AND started_at IS NULL`,
      [ids],
    );
  }

  async markRunning(job: NewJobRecord, attempts: number, startedAt: Date): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, attempts, requested_at, started_at)
       VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8)
       ON CONFLICT (id) DO UPDATE SET state = 'running', attempts = EXCLUDED.attempts, trigger = EXCLUDED.trigger,
         requested_at = EXCLUDED.requested_at, started_at = EXCLUDED.started_at, finished_at = NULL, error = NULL,
         updated_at = now()`,
      [job.id, job.instrumentToken, job.trigger, job.from, job.to, attempts, job.requestedAt, startedAt],
    );
  }

  /** Final state of a run; inside the caller's transaction when candles were written with it. */
  async finishJob(
    id: string,
    result: {
      state: BackfillJobState;
      rowsWritten?: number;
      error?: string | null;
      finishedAt: Date;
      durationMs?: number | null;
      timeToDataMs?: number | null;
      attempts?: number;
    },
    manager?: EntityManager,
  ): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `UPDATE backfill_jobs SET state = $2, rows_written = COALESCE($3, rows_written), error = $4,
         finished_at = $5, duration_ms = $6, time_to_data_ms = $7, attempts = COALESCE($8, attempts),
         updated_at = now()
       WHERE id = $1`,
      [
        id,
        result.state,
        result.rowsWritten ?? null,
        result.error ?? null,
        result.finishedAt,
        result.durationMs ?? null,
        result.timeToDataMs ?? null,
        result.attempts ?? null,
      ],
    );
  }

  /** A failed attempt that will be retried: the record says why and stays queued. */
  async recordRetry(id: string, attempts: number, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE backfill_jobs SET state = 'queued', attempts = $2, error = $3, updated_at = now() WHERE id = $1`,
      [id, attempts, error],
    );
  }

  async markCancelled(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(
      `UPDATE backfill_jobs SET state = 'cancelled', finished_at = $2, updated_at = now()
        WHERE id = ANY($1::text[]) AND state IN ('queued', 'running')`,
      [ids, at],
    );
  }

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

  storedMinutes(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, number[]>> {
    return storedMinutesOf(this.dataSource, tokens, from, to);
  }

  findUnsupported(tokens: readonly number[]): Promise<Map<number, UnsupportedRow>> {
    return unsupportedOf(this.dataSource, tokens);
  }

  async markUnsupported(
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

  async clearUnsupported(instrumentToken: number, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource.manager).query(
      `DELETE FROM unsupported_instruments WHERE instrument_token = $1`,
      [instrumentToken],
    );
  }

  /**
   * Deletes up to `limit` finished records (succeeded, failed, skipped, cancelled) that finished
   * before `before`, oldest first; records of work queued or running are never touched. Returns how
   * many went.
   */
  async pruneFinished(before: Date, limit: number): Promise<number> {
    // TypeORM answers a DELETE with [rows, affected].
    const [, deleted]: [unknown[], number] = await this.dataSource.query(
      `DELETE FROM backfill_jobs WHERE id IN (
         SELECT id FROM backfill_jobs
          WHERE state IN ('succeeded', 'failed', 'skipped', 'cancelled') AND finished_at < $1
          ORDER BY finished_at LIMIT $2)`,
      [before, limit],
    );
    return deleted;
  }

  /**
   * Instruments the cycle looks after (active subscriptions, or every known instrument), skipping
   * contracts that expired before `today` (an IST date; instruments without an expiry, the indices,
   * stay), those marked unsupported until their mark expires and those with work already queued or
   * running, stalest first: never covered, then by how old their newest coverage is.
   */
  async instrumentsByStaleness(
    subscriptionAware: boolean,
    now: Date,
    today: string,
    pendingHorizonSeconds = PENDING_HORIZON_SECONDS,
  ): Promise<number[]> {
    const source = subscriptionAware
      ? `SELECT s.instrument_token FROM subscriptions s
           LEFT JOIN instruments i ON i.instrument_token = s.instrument_token
          WHERE s.status = 'active' AND (i.expiry IS NULL OR i.expiry >= $3::date)`
      : `SELECT instrument_token FROM instruments WHERE expiry IS NULL OR expiry >= $3::date`;
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT s.instrument_token
         FROM (${source}) s
         LEFT JOIN backfill_coverage c ON c.instrument_token = s.instrument_token
        WHERE NOT EXISTS (SELECT 1 FROM unsupported_instruments u
                           WHERE u.instrument_token = s.instrument_token AND u.expires_at > $1)
          AND NOT EXISTS (SELECT 1 FROM backfill_jobs j
                           WHERE j.instrument_token = s.instrument_token AND j.state IN ('queued', 'running')
                             AND j.requested_at > $1::timestamptz - make_interval(secs => $2))
        GROUP BY s.instrument_token
        ORDER BY max(c.covered_to) ASC NULLS FIRST, s.instrument_token`,
      [now, pendingHorizonSeconds, today],
    );
    return rows.map((row) => Number(row.instrument_token));
  }
}
