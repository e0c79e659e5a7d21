import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLockNotAvailable } from '../common/dependency-errors';
import { settledWithin } from '../common/with-timeout';
import { CLOCK, Clock, DAY_MS, MINUTE_MS } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { CHAIN_AGGREGATES } from '../database/migrations/1764300000060-fo-chain-views';
import { MetricsService } from '../metrics/metrics.service';
import { CandleAggregatesRepository } from './candle-aggregates.repository';

/** Epoch milliseconds, [from, to). */
export interface Window {
  from: number;
  to: number;
}

/** Every aggregate's buckets start on multiples of this (time_bucket's default origin is a midnight). */
const ALIGN_MS = 15 * MINUTE_MS;
/** One refresh call covers at most this much: each one is bounded, and the newest week goes first. */
const SLICE_MS = 7 * DAY_MS;
const REFRESH_TIMEOUT_MS = 300_000;
/** Windows waiting; beyond this the closest ones are merged (refreshing more than asked is harmless). */
const MAX_PENDING = 256;
const SHUTDOWN_WAIT_MS = 2000;
/**
 * TimescaleDB refuses a refresh whose window overlaps one in progress (lock_not_available): another
 * replica's, or the policy's. It is tried again after a pause, this many times at most.
 */
const CONFLICT_RETRIES = 10;
const CONFLICT_DELAY_MS = 2000;

/** `window` widened to ALIGN_MS boundaries, merged into the sorted, disjoint `pending`. */
export function addWindow(pending: readonly Window[], window: Window, max = MAX_PENDING): Window[] {
  if (!(window.to > window.from)) return [...pending];
  const added = {
    from: Math.floor(window.from / ALIGN_MS) * ALIGN_MS,
    to: Math.ceil(window.to / ALIGN_MS) * ALIGN_MS,
  };
  const merged: Window[] = [];
  for (const current of [...pending, added].sort((a, b) => a.from - b.from)) {
    const last = merged[merged.length - 1];
    if (last && current.from <= last.to) last.to = Math.max(last.to, current.to);
    else merged.push({ ...current });
  }
  while (merged.length > max) {
    let closest = 0;
    for (let i = 1; i < merged.length - 1; i++)
      if (merged[i + 1].from - merged[i].to < merged[closest + 1].from - merged[closest].to) closest = i;
    merged.splice(closest, 2, { from: merged[closest].from, to: merged[closest + 1].to });
  }
  return merged;
}

/** The newest part (at most `sliceMs`) of the newest pending window, and what is left. */
export function takeNewestSlice(
  pending: readonly Window[],
  sliceMs = SLICE_MS,
): { slice: Window; rest: Window[] } | undefined {
  const newest = pending[pending.length - 1];
  if (!newest) return undefined;
  const from = Math.max(newest.from, newest.to - sliceMs);
  const rest = pending.slice(0, -1);
  if (from > newest.from) rest.push({ from: newest.from, to: from });
  return { slice: { from, to: newest.to }, rest };
}

/**
 * The buckets of `bucketMs` inside `window` that are finished: like the refresh policy (end offset
 * of one bucket), never the bucket in progress, whose minutes real-time aggregation serves.
 */
export function finishedBuckets(window: Window, bucketMs: number, nowMs: number): Window | undefined {
  const from = Math.floor(window.from / bucketMs) * bucketMs;
  const to = Math.min(
    Math.ceil(window.to / bucketMs) * bucketMs,
    Math.floor((nowMs - bucketMs) / bucketMs) * bucketMs,
  );
  return to > from ? { from, to } : undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Keeps the continuous aggregates of candles_1m (the 5- and 15-minute option chain) right for
 * windows their refresh policy never looks at: the policy covers the last 7 days, a manual
 * backfill reaches BACKFILL_MAX_DAYS_BACK (400) days back. After a backfill commits, its window is queued here; windows
 * are merged and refreshed one at a time, newest first, in bounded slices, off the job's path (a
 * failure is logged and counted, never the job's). At start, the whole stored history is queued
 * once: a refresh over minutes that did not change costs next to nothing, and it finishes what a
 * stop or a failure left, or the history of a database converted to TimescaleDB.
 */
@Injectable()
export class CandleAggregatesRefresher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(CandleAggregatesRefresher.name);
  private readonly stopping = new AbortController();
  private pending: Window[] = [];
  private draining?: Promise<void>;
  /** Pause before a refresh refused for a concurrent one is tried again (shorter in tests). */
  conflictDelayMs = CONFLICT_DELAY_MS;

  constructor(
    private readonly repository: CandleAggregatesRepository,
    private readonly database: DatabaseService,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.aggregates().length === 0) return;
    void this.repository
      .oldestMinute()
      .then((oldest) => {
        if (!oldest) return;
        this.logger.log(
          `refreshing the continuous aggregates over the stored history from ${oldest.toISOString()}`,
        );
        this.schedule(oldest, this.clock.now());
      })
      .catch((error: Error) => this.logger.warn(`catch-up refresh not started: ${error.message}`));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    if (this.pending.length > 0)
      this.logger.log(`${this.pending.length} aggregate windows left for the next start's catch-up`);
    this.pending = [];
    if (this.draining) await settledWithin(this.draining, SHUTDOWN_WAIT_MS);
  }

  /** Queues [from, to) for a refresh; returns at once, never throws. A no-op without TimescaleDB. */
  schedule(from: Date, to: Date): void {
    if (this.stopping.signal.aborted || this.aggregates().length === 0) return;
    this.pending = addWindow(this.pending, { from: from.getTime(), to: to.getTime() });
    this.kick();
  }

  /** Resolves once nothing is queued or running (tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private aggregates(): { name: string; bucketMs: number }[] {
    const present = this.database.storageMode.aggregates;
    return CHAIN_AGGREGATES.map(({ suffix, minutes }) => ({
      name: `fo_candles_${suffix}`,
      bucketMs: minutes * MINUTE_MS,
    })).filter(({ name }) => present.includes(name));
  }

  private kick(): void {
    if (this.draining || this.stopping.signal.aborted) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.pending.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const next = this.stopping.signal.aborted ? undefined : takeNewestSlice(this.pending);
      if (!next) return;
      this.pending = next.rest;
      for (const { name, bucketMs } of this.aggregates()) {
        const window = finishedBuckets(next.slice, bucketMs, this.clock.now().getTime());
        if (!window || this.stopping.signal.aborted) continue;
        await this.refresh(name, window);
      }
    }
  }

  private async refresh(name: string, window: Window): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      try {
        await this.repository.refresh(
          name,
          new Date(window.from),
          new Date(window.to),
          REFRESH_TIMEOUT_MS,
          this.stopping.signal,
        );
        this.metrics.aggregateRefreshes.inc({ aggregate: name, outcome: 'refreshed' });
        this.metrics.aggregateRefreshDuration.observe({ aggregate: name }, (Date.now() - started) / 1000);
        return;
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        const conflict = isLockNotAvailable(error);
        if (conflict && attempt < CONFLICT_RETRIES) {
          this.metrics.aggregateRefreshes.inc({ aggregate: name, outcome: 'retried' });
          await sleep(this.conflictDelayMs, undefined, { signal: this.stopping.signal }).catch(
            () => undefined,
          );
          if (this.stopping.signal.aborted) return;
          continue;
        }
        this.metrics.aggregateRefreshes.inc({ aggregate: name, outcome: 'failed' });
        this.logger.warn(
          `refresh of ${name} over ${iso(window.from)}..${iso(window.to)} failed: ${(error as Error).message} (the next start refreshes it)`,
        );
        return;
      }
    }
  }
}
