import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Counter } from 'prom-client';
import { ThrottledLog } from '../common/throttled-log';
import { streamConfig, StreamConfig } from './fo-stream.config';
import { BACKFILL_REQUESTER, BackfillRequester } from '../backfill/backfill.requests';
import { CLOCK, Clock, MINUTE_MS, MarketCalendar, floorToMinute } from '../contracts/market-time';
import { MetricsService } from '../metrics/metrics.service';
import { FoBarBuilder } from './fo-bar.builder';
import { FoRejectReason, TICKING_WINDOW_MS } from './fo-stream.constants';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoChannelKind, parseTick } from './fo-tick.parser';

/** A tick stamped further ahead of our clock than this is refused: it would sit in memory until then. */
const FUTURE_TOLERANCE_MS = 2 * MINUTE_MS;

/**
 * Receives ticks: parse, validate, gate and fold into the open bars, all synchronously in the Redis
 * message handler and without any I/O, so a slow database can never slow the subscriber down.
 */
@Injectable()
export class FoStreamService {
  private readonly logger = new Logger('FoStream');
  private readonly known = new Set<number>();
  private readonly received: Record<FoChannelKind, Counter.Internal>;
  private readonly rejections = new ThrottledLog(this.logger);
  private readonly drops = new ThrottledLog(this.logger);
  private gateMinuteMs = Number.NaN;
  private gateOpen = false;
  private evictedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly builder: FoBarBuilder,
    private readonly flusher: FoStreamFlusher,
    private readonly calendar: MarketCalendar,
    private readonly metrics: MetricsService,
    @Inject(streamConfig.KEY) private readonly config: StreamConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(BACKFILL_REQUESTER) private readonly backfill?: BackfillRequester,
  ) {
    // Bound children: a label lookup per tick is measurable at tens of thousands of ticks a second.
    this.received = {
      options: metrics.foTicksReceived.labels('options'),
      underlying: metrics.foTicksReceived.labels('underlying'),
    };
  }

  receive(kind: FoChannelKind, raw: string): void {
    this.received[kind].inc();
    const nowMs = this.clock.now().getTime();
    if (nowMs - this.evictedAtMs >= MINUTE_MS) this.evictIdle(nowMs);
    const result = parseTick(kind, raw);
    if (!result.ok) return this.reject(result.reason, `${kind}: ${result.detail}`);
    const tick = result.tick;
    if (tick.timeMs > nowMs + FUTURE_TOLERANCE_MS)
      return this.reject(
        'invalid_time',
        `${kind}: token ${tick.token} stamped in the future (${tick.timeMs})`,
      );
    if (this.config.FO_STREAM_SESSION_GATE && !this.inSession(tick.timeMs)) return this.reject('off_session');
    if (!this.builder.add(tick, kind === 'underlying'))
      return this.reject(
        'too_late',
        `${kind}: token ${tick.token} at ${new Date(tick.timeMs).toISOString()} is past the late-tick retention`,
      );
    if (!this.known.has(tick.token)) {
      this.known.add(tick.token);
      this.flusher.register(tick.instrument());
      const dropped = tick.droppedFields?.() ?? [];
      if (dropped.length > 0) this.dropped(kind, tick.token, dropped);
    }
  }

  /**
   * After a reconnect of the tick connection, asks the backfill for the minutes missed by every
   * instrument that was ticking before the connection dropped.
   */
  async requestGap(disconnectedAt: Date): Promise<number> {
    const now = this.clock.now();
    const tokens = this.builder.tokensSeenSince(disconnectedAt.getTime() - TICKING_WINDOW_MS);
    const backfill = this.backfill;
    if (!backfill) {
      this.logger.warn(
        `tick gap since ${disconnectedAt.toISOString()} for ${tokens.length} instruments: no backfill in this deployment, the gap stays until one runs`,
      );
      return 0;
    }
    const from = floorToMinute(disconnectedAt);
    try {
      await backfill.request(
        tokens.map((instrumentToken) => ({
          instrumentToken,
          trigger: 'stream_gap',
          requestedAt: now,
          from,
          to: now,
        })),
      );
    } catch (error) {
      // The next sweep finds the same minutes missing.
      this.logger.warn(
        `gap backfill request for ${tokens.length} instruments failed: ${(error as Error).message}`,
      );
      return 0;
    }
    this.logger.log(
      `asked the backfill to fill ${from.toISOString()}..${now.toISOString()} for ${tokens.length} instruments`,
    );
    return tokens.length;
  }

  /**
   * Once a minute: forgets instruments not seen for FO_STREAM_STATE_TTL_MINUTES (expired contracts,
   * strikes rolled off the chain), so the per-instrument state does not keep every token ever seen.
   */
  private evictIdle(nowMs: number): void {
    this.evictedAtMs = nowMs;
    const evicted = this.builder.evictIdle(nowMs - this.config.FO_STREAM_STATE_TTL_MINUTES * MINUTE_MS);
    for (const token of evicted) this.known.delete(token);
    if (evicted.length > 0)
      this.logger.log(
        `forgot ${evicted.length} instruments not seen for ${this.config.FO_STREAM_STATE_TTL_MINUTES} minutes`,
      );
  }

  private inSession(timeMs: number): boolean {
    // One calendar lookup per minute, not per tick.
    const minuteMs = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
    if (minuteMs !== this.gateMinuteMs) {
      this.gateMinuteMs = minuteMs;
      this.gateOpen = this.calendar.isSessionMinute(new Date(minuteMs));
    }
    return this.gateOpen;
  }

  /** Instrument fields no column could hold: the tick and the rest of the instrument are kept. */
  private dropped(kind: FoChannelKind, token: number, fields: readonly string[]): void {
    for (const field of fields) {
      this.metrics.foTickFieldsDropped.inc({ field });
      // Throttled per field, like the rejections per reason.
      this.drops.report(
        field,
        `${kind}: token ${token}: ${field} left out of the instrument (not a value its column holds)`,
      );
    }
  }

  private reject(reason: FoRejectReason, detail?: string): void {
    this.metrics.foTicksRejected.inc({ reason });
    // Throttled per reason: a broken sender would otherwise flood the log.
    this.rejections.report(reason, `tick rejected (${reason})${detail ? `: ${detail}` : ''}`, {
      debug: detail !== undefined,
    });
  }
}
