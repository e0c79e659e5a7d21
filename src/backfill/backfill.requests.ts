// The backfill's public port. The event listener, the reconciler, the manual API, the scheduler and
// the tick stream all request work through it; one processor does the work.

export const BACKFILL_TRIGGERS = ['event', 'reconcile', 'sweep', 'manual'] as const;
export type BackfillTrigger = (typeof BACKFILL_TRIGGERS)[number];

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

export interface BackfillRequester {
  request(request: BackfillRequest): Promise<BackfillRequestResult>;
  /**
   * Drops the waiting jobs of instruments that were unsubscribed, all in one pass; their stored data
   * stays. Returns how many jobs were dropped.
   */
  cancelPending(instrumentTokens: readonly number[]): Promise<number>;
}

export const BACKFILL_REQUESTER = Symbol('BACKFILL_REQUESTER');
