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

export interface JobFilter {
  instrumentToken?: number;
  state?: BackfillJobState;
  trigger?: BackfillTrigger;
  limit: number;
  offset: number;
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

/**
 * `backfill_jobs` on the ingestion pool: one record per run of a job (trigger, window, state,
 * attempts, rows, duration, time to data, error). The API reads them through BackfillQueryRepository,
 * on the read pool. Also the backfill's transaction and its database probe.
 */
@Injectable()
export class BackfillJobsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
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
   * Of `tokens`, those with work queued or running that was requested within `horizonSeconds` of
   * `now` (older records may have lost their queue entry: they no longer keep the instrument out).
   */
  async pendingAmong(
    tokens: readonly number[],
    now: Date,
    horizonSeconds = PENDING_HORIZON_SECONDS,
  ): Promise<Set<number>> {
    if (tokens.length === 0) return new Set();
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT DISTINCT instrument_token FROM backfill_jobs
        WHERE instrument_token = ANY($1::bigint[]) AND state IN ('queued', 'running')
          AND requested_at > $2::timestamptz - make_interval(secs => $3)`,
      [tokens, now, horizonSeconds],
    );
    return new Set(rows.map((row) => Number(row.instrument_token)));
  }
}
