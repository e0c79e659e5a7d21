import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { backoff } from '../common/backoff';
import { isConnectionError, isRetryableServerState, sqlstateOf } from '../common/dependency-errors';
import { streamConfig, StreamConfig } from './fo-stream.config';
import { startInterval, stopTimer } from '../common/named-timers';
import { CLOCK, Clock, MINUTE_MS } from '../contracts/market-time';
import { CandlesRepository } from '../market-data/candles.repository';
import { InstrumentsService } from '../market-data/instruments.service';
import { Candle, DescribedInstrument, InstrumentInfo } from '../market-data/market-data.types';
import { MetricsService } from '../metrics/metrics.service';
import { FoBarBuilder } from './fo-bar.builder';
import {
  FLUSH_INTERVAL_MS,
  MAX_PENDING_BARS,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
  WRITE_BATCH_BARS,
} from './fo-stream.constants';

interface PendingBar {
  candle: Candle;
  /** A revision of a minute that had already been closed: its lag is not the flush lag. */
  late: boolean;
}

type ParkedKind = 'instrument' | 'bar';

interface RefusedRow {
  code: string;
  message: string;
}

/** Name of the flush timer in the SchedulerRegistry. */
export const FO_FLUSH_TIMER = 'fo-stream:flush';
/**
 * Why the database refused the rows, when it was the rows: every failure except a connection-class
 * one (the database unreachable, hung, shutting down) and a server asking to retry
 * (`isRetryableServerState`: splitting the batch cannot find a bad row there, and would park good ones). A
 * constraint, a value out of range, a trigger's exception (P0001), an internal error: retrying the
 * same rows would fail the same way, so they are split out. Undefined: retry the batch whole.
 */
function refusedRows(error: unknown): RefusedRow | undefined {
  const code = sqlstateOf(error);
  if (isConnectionError(error) || isRetryableServerState(code)) return undefined;
  return { code: code ?? 'other', message: String((error as { message?: unknown })?.message ?? error) };
}

export type CommitListener = (bars: readonly Candle[], committedAtMs: number) => void;

function keyOf(candle: Candle): string {
  return `${candle.instrumentToken}:${candle.time.getTime()}`;
}

/**
 * Writes closed bars. A minute is closed by the clock, FO_STREAM_FLUSH_GRACE_MS after it ends,
 * whether or not another tick arrives; a late tick's revision of a retained minute is written again
 * at the next pass. Every bar is the minute's full state, so the write is idempotent (a retry or
 * another replica writing the same minute never adds volume twice). Bars wait in a map keyed by
 * instrument and minute, where a newer state of a minute replaces the older one, so a slow or absent
 * database cannot pile them up; the write retries with backoff and the receiving side never waits.
 */
@Injectable()
export class FoStreamFlusher {
  private readonly logger = new Logger('FoStream');
  private readonly pending = new Map<string, PendingBar>();
  private readonly inFlight = new Map<string, PendingBar>();
  private readonly registrations = new Map<number, DescribedInstrument>();
  private readonly listeners: CommitListener[] = [];
  private started = false;
  private writing?: Promise<void>;
  private failures = 0;
  private retryAt = 0;
  private lastCutoffMs = Number.NEGATIVE_INFINITY;
  private dropped = 0;
  private droppingReported = false;
  private lastError?: string;
  private parkedRows = 0;
  private lastParked?: Record<string, string | number>;

  constructor(
    private readonly builder: FoBarBuilder,
    private readonly candles: CandlesRepository,
    private readonly instruments: InstrumentsService,
    private readonly metrics: MetricsService,
    @Inject(streamConfig.KEY) private readonly config: StreamConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly timers: SchedulerRegistry,
  ) {}

  /** Closed bars not yet committed (waiting or being written). */
  get backlog(): number {
    return this.pending.size + this.inFlight.size;
  }

  /** Bars dropped because the backlog reached its ceiling (left to the backfill). */
  get droppedBars(): number {
    return this.dropped;
  }

  onCommitted(listener: CommitListener): void {
    this.listeners.push(listener);
  }

  /**
   * Queues an instrument first seen on the stream, described by its tick (whose fields win over the
   * list's and the symbol's; a disagreement is counted here, once); written before the bars of the
   * same pass.
   */
  register(info: InstrumentInfo): void {
    this.registrations.set(info.instrumentToken, this.instruments.describe(info, 'tick'));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    startInterval(this.timers, FO_FLUSH_TIMER, FLUSH_INTERVAL_MS, () => void this.flushDue());
  }

  /** Stops the timer, closes every open minute (the session's last one too) and writes what it can. */
  async stop(timeoutMs: number): Promise<void> {
    stopTimer(this.timers, FO_FLUSH_TIMER);
    this.started = false;
    this.enqueue(this.builder.closeAll());
    const deadline = performance.now() + timeoutMs;
    while (this.backlog > 0 && performance.now() < deadline) {
      this.retryAt = 0;
      await this.drain();
      if (this.backlog > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_MIN_MS));
    }
    if (this.backlog > 0)
      this.logger.warn(`shutdown with ${this.backlog} bars unwritten; the backfill will fill those minutes`);
  }

  /**
   * Closes every minute whose grace has passed and writes the backlog. The timer calls it; tests
   * call it with a clock of their own. Resolves when this pass's write has finished (or failed).
   */
  async flushDue(): Promise<void> {
    const cutoffMs = this.clock.now().getTime() - this.config.FO_STREAM_FLUSH_GRACE_MS;
    this.enqueue(this.builder.closeDue(cutoffMs));
    this.enqueue(this.builder.takeRevised());
    if (cutoffMs > this.lastCutoffMs) this.lastCutoffMs = cutoffMs;
    await this.drain();
  }

  private enqueue(closed: Candle[]): void {
    for (const candle of closed) {
      const key = keyOf(candle);
      const waiting = this.pending.get(key);
      if (waiting) {
        // Full states, never parts: the newer one already holds everything the older one did.
        waiting.candle = candle;
      } else {
        const late = candle.time.getTime() + MINUTE_MS <= this.lastCutoffMs;
        this.pending.set(key, { candle, late });
      }
    }
    this.enforceCeiling();
    this.metrics.foBacklog.set(this.backlog);
  }

  private enforceCeiling(): void {
    let over = this.backlog - MAX_PENDING_BARS;
    if (over <= 0) {
      this.droppingReported = false;
      return;
    }
    // Insertion order is oldest first: the oldest minutes go, the backfill has them upstream.
    for (const key of this.pending.keys()) {
      if (over-- <= 0) break;
      this.pending.delete(key);
      this.dropped++;
    }
    if (!this.droppingReported)
      this.logger.error(
        `backlog reached ${MAX_PENDING_BARS} bars: dropping the oldest minutes (${this.dropped} so far); the backfill fills them`,
      );
    this.droppingReported = true;
  }

  private drain(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.backlog === 0 && this.registrations.size === 0) return Promise.resolve();
    if (performance.now() < this.retryAt) return Promise.resolve();
    this.writing = this.writeAll().finally(() => {
      this.writing = undefined;
      this.metrics.foBacklog.set(this.backlog);
    });
    return this.writing;
  }

  private async writeAll(): Promise<void> {
    try {
      if (this.registrations.size > 0) {
        const infos = [...this.registrations.values()];
        // A refused instrument is parked, not retried: its bars do not need its row.
        await this.writeSplitting('instrument', infos, (rows) => this.instruments.write(rows));
        for (const info of infos)
          if (this.registrations.get(info.instrumentToken) === info)
            this.registrations.delete(info.instrumentToken);
      }
      while (this.pending.size > 0) {
        const batch: Candle[] = [];
        for (const [key, part] of this.pending) {
          this.pending.delete(key);
          this.inFlight.set(key, part);
          batch.push(part.candle);
          if (batch.length >= WRITE_BATCH_BARS) break;
        }
        await this.writeSplitting('bar', batch, async (bars) => {
          await this.candles.mergeStreamBars(bars);
          this.committed(bars);
        });
      }
      if (this.failures > 0) this.logger.log(`bar writes recovered after ${this.failures} failed attempts`);
      this.failures = 0;
      this.lastError = undefined;
    } catch (error) {
      this.returnInFlight();
      this.failures++;
      this.lastError = (error as Error).message;
      const delay = backoff({ baseMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS }, this.failures - 1);
      this.retryAt = performance.now() + delay;
      if (this.failures === 1 || this.failures % 20 === 0)
        this.logger.warn(
          `bar write failed (attempt ${this.failures}, backlog ${this.backlog}, retry in ${delay} ms): ${this.lastError}`,
        );
    }
  }

  /**
   * Writes `rows`; when the database refuses the statement (a value out of range, a constraint, a
   * trigger's exception: anything but an outage, see `refusedRows`), halves it until the refused rows
   * stand alone, writes the others and parks the refused ones (counted, one log line for the batch,
   * never retried). A connection failure, or a server asking to be asked again (a deadlock, a full
   * disk, a statement timeout), propagates and the whole backlog is retried with backoff: retrying
   * cannot fix a row, but it does fix an outage. Each try is bounded by DB_QUERY_TIMEOUT_MS, and
   * while they fail the backlog is bounded by MAX_PENDING_BARS, so a slow database stalls nothing
   * for good.
   */
  private async writeSplitting<T extends InstrumentInfo | Candle>(
    kind: ParkedKind,
    rows: T[],
    write: (rows: T[]) => Promise<unknown>,
  ): Promise<void> {
    const parked: { row: T; error: RefusedRow }[] = [];
    const attempt = async (part: T[]): Promise<void> => {
      try {
        await write(part);
      } catch (error) {
        const refused = refusedRows(error);
        if (!refused) throw error;
        if (part.length === 1) {
          parked.push({ row: part[0], error: refused });
          return;
        }
        const half = Math.ceil(part.length / 2);
        await attempt(part.slice(0, half));
        await attempt(part.slice(half));
      }
    };
    try {
      await attempt(rows);
    } finally {
      // Reported even when an outage interrupts the split: what was parked stays parked.
      if (parked.length > 0) this.park(kind, rows.length, parked);
    }
  }

  private park(
    kind: ParkedKind,
    batchSize: number,
    parked: { row: InstrumentInfo | Candle; error: RefusedRow }[],
  ): void {
    const nowIso = this.clock.now().toISOString();
    for (const { row, error } of parked) {
      this.metrics.foRowsParked.inc({ kind, reason: error.code });
      if (kind === 'bar') this.inFlight.delete(keyOf(row as Candle));
      this.parkedRows++;
      this.lastParked = {
        kind,
        instrument_token: row.instrumentToken,
        ...('time' in row ? { time: row.time.toISOString() } : {}),
        sqlstate: error.code,
        message: error.message,
        at: nowIso,
      };
    }
    const rows = parked
      .slice(0, 10)
      .map(({ row }) =>
        'time' in row ? `${row.instrumentToken}@${row.time.toISOString()}` : `${row.instrumentToken}`,
      )
      .join(', ');
    const codes = [...new Set(parked.map(({ error }) => `${error.code} ${error.message}`))].join('; ');
    this.logger.error(
      `parked ${parked.length} of ${batchSize} ${kind === 'bar' ? 'bars' : 'instruments'} the database refused (${codes}): ${rows}${parked.length > 10 ? ', ...' : ''}; the rest were written`,
    );
  }

  private committed(batch: Candle[]): void {
    const nowMs = this.clock.now().getTime();
    for (const candle of batch) {
      const key = keyOf(candle);
      const part = this.inFlight.get(key);
      if (!part) continue;
      if (!part.late)
        this.metrics.foFlushLag.observe((nowMs - part.candle.time.getTime() - MINUTE_MS) / 1000);
      this.inFlight.delete(key);
    }
    this.metrics.foBarsWritten.inc(batch.length);
    for (const listener of this.listeners) listener(batch, nowMs);
  }

  /**
   * A failed batch goes back at the front (oldest first); a newer state of the same minute that was
   * enqueued meanwhile replaces it. Retrying is safe even if the failed write did commit (the reply
   * was lost): writing the same full bar again changes nothing.
   */
  private returnInFlight(): void {
    const waiting = [...this.pending];
    this.pending.clear();
    for (const [key, part] of this.inFlight) this.pending.set(key, part);
    this.inFlight.clear();
    for (const [key, part] of waiting) {
      const older = this.pending.get(key);
      if (older) older.candle = part.candle;
      else this.pending.set(key, part);
    }
  }

  /** What readiness reports of the writer (see FoStreamHealthIndicator). */
  status() {
    return {
      backlog_bars: this.backlog,
      backlog_limit: MAX_PENDING_BARS,
      open_bars: this.builder.openBars,
      retained_bars: this.builder.retainedBars,
      dropped_bars: this.dropped,
      write_failures: this.failures,
      ...(this.lastError ? { last_error: this.lastError } : {}),
      parked_rows: this.parkedRows,
      ...(this.lastParked ? { last_parked: this.lastParked } : {}),
    };
  }
}
