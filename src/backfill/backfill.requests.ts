// The backfill's public port. The event listener, the reconciler, the manual API, the scheduler and
// the tick stream all request work through `request`, a batch at a time; one processor does the work.

/**
 * Every trigger of a backfill, in one table: the job each one enqueues is named after it (so the
 * queue, the job records and `backfill_triggers_total{trigger}` say who asked), its priority (BullMQ
 * runs lower numbers first) and whether its jobs are observed in `backfill_time_to_data_seconds` (someone waits for the data). The processor
 * declares the jobs it handles, and the boot fails when a trigger here has no handler.
 */
export const BACKFILL_TRIGGER_TABLE = {
  /** A subscription event: a trader is waiting for the instrument's history. */
  event: { priority: 1, timeToData: true },
  /** `POST /api/v1/backfill`: someone is waiting for it. */
  manual: { priority: 1, timeToData: true },
  /** A subscription the reconciliation found (its event was lost): a trader is waiting too. */
  reconcile: { priority: 2, timeToData: true },
  /** Minutes the tick stream missed while its connection was down: a hole in a live series. */
  stream_gap: { priority: 3, timeToData: false },
  /** The periodic gap fill: nobody is waiting. */
  sweep: { priority: 4, timeToData: false },
} as const satisfies Record<string, { priority: number; timeToData: boolean }>;

export type BackfillTrigger = keyof typeof BACKFILL_TRIGGER_TABLE;
export const BACKFILL_TRIGGERS = Object.keys(BACKFILL_TRIGGER_TABLE) as BackfillTrigger[];

export interface BackfillRequest {
  instrumentToken: number;
  trigger: BackfillTrigger;
  /** When the request arose (the event's arrival): the start of the time-to-data measurement. */
  requestedAt: Date;
  /** Window to fetch; by default the configured lookback up to now, minus what is already covered. */
  from?: Date;
  to?: Date;
}

export interface BackfillRequestResult {
  /** Deterministic ids of the jobs enqueued (or already queued by another replica). */
  jobIds: string[];
  /** Why nothing was enqueued, when nothing was (backfill disabled, nothing missing, unsupported). */
  skipped?: string;
}

export interface BackfillBatchOptions {
  /**
   * At most this many jobs for the whole batch, given to the requests in their order; the requests
   * past it are answered `skipped: 'over budget'` and left for later (the scheduler's cycle budget).
   */
  maxJobs?: number;
  /**
   * The longest the caller waits for the queue (10 s by default); past it the batch is refused with
   * DependencyUnavailableError and its new records are removed. A caller that passes it (an HTTP
   * request, which must answer within 2 s) is also refused at once, with nothing recorded, while the
   * queue's Redis connection is down.
   */
  queueWaitMs?: number;
}

export const OVER_BUDGET = 'over budget';

export interface BackfillRequester {
  /**
   * Plans and enqueues a batch as one: a few set-based queries, one insert of job records and one
   * `addBulk` for the lot. Results are in the order of `requests`.
   */
  request(
    requests: readonly BackfillRequest[],
    options?: BackfillBatchOptions,
  ): Promise<BackfillRequestResult[]>;
  /**
   * Drops the waiting jobs of instruments that were unsubscribed, all in one pass; their stored data
   * stays. Returns how many jobs were dropped.
   */
  cancelPending(instrumentTokens: readonly number[]): Promise<number>;
}

export const BACKFILL_REQUESTER = Symbol('BACKFILL_REQUESTER');
