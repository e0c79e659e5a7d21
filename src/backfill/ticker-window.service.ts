import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import Redis from 'ioredis';
import { ThrottledLog } from '../common/throttled-log';
import { startInterval, stopTimer } from '../common/named-timers';
import { settledWithin } from '../common/with-timeout';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { CLOCK, Clock, MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { Candle } from '../market-data/market-data.types';
import { MetricsService } from '../metrics/metrics.service';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { TimeRange } from './backfill-gaps';
import { classifyAnswer, KNOWN_QUIRK_MINUTES } from './history-window';
import { RunsPeriodically } from './periodic-jobs';

export type TickerWindowMode = 'auto' | 'override' | 'none';

/** The shift the ticker provider asks with, and what the service knows about it. */
export interface TickerWindowState {
  /** `auto`: learned; `override`: TICKER_WINDOW_SHIFT_MINUTES is a number; `none`: Kite, no quirk. */
  mode: TickerWindowMode;
  /** Minutes added to every window asked of the ticker. */
  shiftMinutes: number;
  /** The upstream has answered so as to show that this shift gives the window asked for. */
  verified: boolean;
  /** The shift the last probe found right (null: none found, or no probe yet). */
  observedShiftMinutes: number | null;
  /** When the state was last settled by a probe or an answer (wall clock). */
  checkedAt: Date | null;
  reason: string;
}

/** Fetches raw, unclipped candles of a window asked with `shiftMinutes`; throws HistoryError. */
export type TickerWindowRequest = (
  instrumentToken: number,
  window: TimeRange,
  shiftMinutes: number,
  signal?: AbortSignal,
) => Promise<Candle[]>;

export const TICKER_WINDOW_REQUEST = Symbol('TICKER_WINDOW_REQUEST');

/** Shared by the replicas: the latest probe's finding. */
const STATE_KEY = 'backfill:ticker-window';
/** Name of the timer (SchedulerRegistry) by which a replica follows the shared finding. */
export const TICKER_WINDOW_FOLLOW_TIMER = 'ticker-window:follow';
const POLL_MS = 30_000;
/** A mismatch reported within this long of the last probe reuses its finding. */
const RECHECK_DEBOUNCE_MS = 10_000;
const PROBE_WINDOW_MINUTES = 60;

interface SharedFinding {
  observed: number | null;
  checkedAt: number;
  reason: string;
}

/**
 * Owns the ticker's window shift (TICKER_WINDOW_SHIFT_MINUTES). The ticker answers `/history` for a
 * window 5h30 earlier than asked while its timezone bug is live; the shift moves the request so the
 * answer lands on the window wanted. In `auto` the shift is learned: from a probe (the last hour of the
 * newest complete session of an instrument that trades every minute) and from answers (a wrong-window
 * answer triggers a probe led by the offset it shows). The finding is shared in Redis: a replica
 * probes at boot only when no finding younger than TICKER_WINDOW_PROBE_INTERVAL_SECONDS is there,
 * follows the shared one every 30 s, and the periodic probe is the `ticker-window-probe` job of the
 * backfill queue (periodic-jobs.ts), run by one replica per interval. An override is probed
 * and reported the same way but never changed. Until a shift is verified, jobs record coverage only
 * between the candles they received (see coveredRange).
 *
 * The periodic probe is a job of the rate-limited queue, taken like any history request; a round
 * asks at most four times. The boot probe and the one after a mismatch (at most one per
 * RECHECK_DEBOUNCE_MS per replica) run where they are needed, outside the limiter.
 */
@Injectable()
export class TickerWindowService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('TickerWindow');
  private readonly stopping = new AbortController();
  private readonly override?: number;
  private current: TickerWindowState;
  private round?: Promise<boolean>;
  private lastRecheckAt = 0;
  private firstRound?: Promise<void>;
  private booted = false;
  /** Until the boot probe (or a finding of another replica) has settled the shift. */
  private bootProbePending = true;
  /** Each misconfiguration at error level once for the life of the process, then at debug. */
  private readonly onceLog = ThrottledLog.once(this.logger, 'error');

  constructor(
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    private readonly calendar: MarketCalendar,
    private readonly metrics: MetricsService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(TICKER_WINDOW_REQUEST) private readonly request: TickerWindowRequest,
    private readonly timers: SchedulerRegistry,
  ) {
    const setting = config.TICKER_WINDOW_SHIFT_MINUTES;
    if (config.HISTORY_PROVIDER === 'kite') {
      this.current = this.state('none', 0, true, null, 'Kite answers for the window asked (no quirk)');
    } else if (setting === 'auto') {
      this.current = this.state(
        'auto',
        KNOWN_QUIRK_MINUTES,
        false,
        null,
        'not probed yet: starting from 330, the quirk the contract documents',
      );
    } else {
      this.override = setting;
      this.current = this.state('override', setting, false, null, 'not verified yet');
    }
    this.updateGauges();
  }

  private state(
    mode: TickerWindowMode,
    shiftMinutes: number,
    verified: boolean,
    observedShiftMinutes: number | null,
    reason: string,
    checkedAt: Date | null = null,
  ): TickerWindowState {
    return { mode, shiftMinutes, verified, observedShiftMinutes, checkedAt, reason };
  }

  private get probing(): boolean {
    return this.current.mode !== 'none' && this.config.TICKER_WINDOW_PROBE_INTERVAL_SECONDS > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.probing) return;
    this.firstRound = this.tick().finally(() => {
      this.booted = true;
    });
    startInterval(this.timers, TICKER_WINDOW_FOLLOW_TIMER, Math.min(POLL_MS, this.intervalMs), () => {
      void this.tick();
    });
  }

  beforeApplicationShutdown(): void {
    this.stopping.abort();
    stopTimer(this.timers, TICKER_WINDOW_FOLLOW_TIMER);
  }

  /**
   * The period's probe, on the replica that took the period's job. A failed probe fails the job,
   * which BullMQ tries again (see PERIODIC_JOB_TABLE) rather than waiting for the next interval.
   */
  @RunsPeriodically('ticker-window-probe')
  async periodicProbe(): Promise<void> {
    if (!this.probing || this.stopping.signal.aborted) return;
    if (!(await this.probeRound()))
      throw new Error(`ticker window probe (token ${this.config.TICKER_WINDOW_PROBE_TOKEN}) failed`);
  }

  get snapshot(): TickerWindowState {
    return { ...this.current };
  }

  /**
   * Resolves once the first probe round at boot has settled the shift, or after `timeoutMs`: jobs
   * taken at boot then ask with the shift the probe found rather than the starting value.
   */
  async ready(timeoutMs: number): Promise<void> {
    if (!this.firstRound || this.booted) return;
    await settledWithin(this.firstRound, timeoutMs);
  }

  /** An answer asked with `shiftMinutes` proved its own window: the shift is right. */
  confirmedBy(shiftMinutes: number): void {
    if (this.current.verified || shiftMinutes !== this.current.shiftMinutes) return;
    this.settle(
      this.current.mode,
      shiftMinutes,
      true,
      this.current.observedShiftMinutes,
      'an answer proved it',
    );
    this.logger.log(`ticker window shift ${shiftMinutes} minutes verified by an answer`);
  }

  /**
   * An answer asked with `shiftMinutes` was for another window, `offsetMinutes` away. Revokes the
   * verification; in `auto` probes for the right shift (led by the offset) and returns true when the
   * shift in use has changed to a verified one, so that the job may ask again.
   */
  async afterMismatch(shiftMinutes: number, offsetMinutes: number | null): Promise<boolean> {
    if (this.current.mode === 'none') return false;
    // Asked with a shift that has been corrected since: the one in use now is another question.
    if (shiftMinutes !== this.current.shiftMinutes)
      return this.current.mode === 'auto' && this.current.verified;
    const hint = offsetMinutes === null ? undefined : shiftMinutes + offsetMinutes;
    this.settle(
      this.current.mode,
      shiftMinutes,
      false,
      this.current.observedShiftMinutes,
      `an answer was for another window${offsetMinutes === null ? '' : ` (${offsetMinutes} minutes off)`}`,
    );
    if (this.current.mode === 'override') {
      this.onceLog.report(
        `mismatch:${offsetMinutes}`,
        `TICKER_WINDOW_SHIFT_MINUTES=${this.override} gives answers for another window${
          hint === undefined ? '' : `; they fit a shift of ${hint} minutes`
        }. Coverage is recorded only between returned candles until the setting is corrected (or set to auto).`,
      );
    }
    // Jobs failing together trigger one probe: a recheck just done answers the later ones.
    const recent = Date.now() - this.lastRecheckAt < RECHECK_DEBOUNCE_MS;
    if (this.probing && (!recent || this.round)) {
      await this.probeRound(hint);
      this.lastRecheckAt = Date.now();
    }
    return (
      this.current.mode === 'auto' && this.current.verified && this.current.shiftMinutes !== shiftMinutes
    );
  }

  private get intervalMs(): number {
    return this.config.TICKER_WINDOW_PROBE_INTERVAL_SECONDS * 1000;
  }

  private key(name: string): string {
    return `${this.config.QUEUE_PREFIX}:${name}`;
  }

  /**
   * Follows the shared finding. At boot, and every poll after a boot probe the upstream did not
   * answer, probes when there is no finding younger than the interval (the periodic probe is the
   * queue's, once the boot has settled the shift).
   */
  private async tick(): Promise<void> {
    try {
      const shared = await this.follow();
      const age = Date.now() - (shared?.checkedAt ?? 0);
      // Redis unreachable counts as no finding: probe locally; it is shared once Redis is back.
      if (this.bootProbePending && age >= this.intervalMs) this.bootProbePending = !(await this.probeRound());
      else if (age < this.intervalMs) this.bootProbePending = false;
    } catch (error) {
      this.logger.warn(`ticker window check failed: ${(error as Error).message}`);
    }
  }

  /** Adopts the shared finding when it is newer than this replica's; returns it. */
  private async follow(): Promise<SharedFinding | undefined> {
    if (this.stopping.signal.aborted) return undefined;
    let shared: SharedFinding | undefined;
    try {
      const text = await this.redis.get(this.key(STATE_KEY));
      shared = text ? (JSON.parse(text) as SharedFinding) : undefined;
    } catch {
      shared = undefined;
    }
    if (shared && shared.checkedAt > (this.current.checkedAt?.getTime() ?? 0)) this.adopt(shared);
    return shared;
  }

  /** One probe round (joined when one is under way); false when the upstream could not be asked. */
  private probeRound(hint?: number): Promise<boolean> {
    this.round ??= this.probe(hint).finally(() => {
      this.round = undefined;
    });
    return this.round;
  }

  /**
   * Asks for the last hour of the newest complete session with candidate shifts (the hint, the one in
   * use, 330, 0, and any the answers point at) until an answer proves its window. That window shows
   * either error of the quirk: 5h30 earlier is the session's first 45 minutes (candles outside the
   * window), 5h30 later is the evening (empty, for an instrument that must have a candle a minute).
   */
  private async probe(hint?: number): Promise<boolean> {
    const session = this.calendar.lastCompleteSession(this.clock.now());
    if (!session) return true;
    const window = {
      from: new Date(
        Math.max(session.open.getTime(), session.close.getTime() - PROBE_WINDOW_MINUTES * MINUTE_MS),
      ),
      to: session.close,
    };
    const candidates = [hint, this.override ?? this.current.shiftMinutes, KNOWN_QUIRK_MINUTES, 0].filter(
      (c): c is number => c !== undefined && Math.abs(c) <= 720,
    );
    const queue = [...new Set(candidates)];
    const seen: string[] = [];
    for (let i = 0; i < queue.length && i < 4; i++) {
      const shift = queue[i];
      let candles: Candle[];
      try {
        candles = await this.request(
          this.config.TICKER_WINDOW_PROBE_TOKEN,
          window,
          shift,
          this.stopping.signal,
        );
      } catch (error) {
        if (this.stopping.signal.aborted) return true;
        this.onceLog.report(
          `probe-failed:${(error as Error).message.slice(0, 40)}`,
          `ticker window probe (token ${this.config.TICKER_WINDOW_PROBE_TOKEN}) failed: ${(error as Error).message}; the shift stays ${this.current.shiftMinutes} minutes (${this.current.verified ? 'verified' : 'unverified'})`,
        );
        return false;
      }
      const answer = classifyAnswer(window, candles);
      if (answer.proves) {
        this.found(shift, `the probe of ${session.date} answered right with ${shift}`);
        return true;
      }
      const offset = answer.mismatch?.offsetMinutes;
      seen.push(
        `${shift}: ${answer.mismatch ? `${offset ?? '?'} minutes off` : `${answer.inWindow.length} of ${PROBE_WINDOW_MINUTES} minutes`}`,
      );
      if (offset !== undefined && offset !== null && !queue.includes(shift + offset))
        queue.splice(i + 1, 0, shift + offset);
    }
    this.found(null, `no shift tried gave the probe's window (${seen.join('; ')})`);
    return true;
  }

  /** Applies a probe's finding here and shares it with the other replicas. */
  private found(observed: number | null, reason: string): void {
    const finding: SharedFinding = { observed, checkedAt: Date.now(), reason };
    this.adopt(finding);
    this.redis
      .set(this.key(STATE_KEY), JSON.stringify(finding))
      .catch((error: Error) => this.logger.warn(`ticker window finding not shared: ${error.message}`));
  }

  private adopt(finding: SharedFinding): void {
    const checkedAt = new Date(finding.checkedAt);
    const before = this.current;
    if (this.current.mode === 'auto') {
      const shift = finding.observed ?? this.current.shiftMinutes;
      this.settle('auto', shift, finding.observed !== null, finding.observed, finding.reason, checkedAt);
    } else if (this.current.mode === 'override') {
      const agrees = finding.observed === this.override;
      this.settle('override', this.override!, agrees, finding.observed, finding.reason, checkedAt);
      if (!agrees)
        this.onceLog.report(
          `disagree:${finding.observed}`,
          finding.observed === null
            ? `TICKER_WINDOW_SHIFT_MINUTES=${this.override} could not be verified: ${finding.reason}. Coverage is recorded only between returned candles.`
            : `TICKER_WINDOW_SHIFT_MINUTES=${this.override} disagrees with the ticker, whose answers fit a shift of ${finding.observed} minutes (${finding.reason}). The override is kept; coverage is recorded only between returned candles until it is corrected (or set to auto).`,
        );
    }
    if (before.shiftMinutes !== this.current.shiftMinutes || before.verified !== this.current.verified)
      this.logger.log(
        `ticker window shift ${this.current.shiftMinutes} minutes, ${this.current.verified ? 'verified' : 'unverified'} (${this.current.mode}): ${finding.reason}`,
      );
  }

  private settle(
    mode: TickerWindowMode,
    shiftMinutes: number,
    verified: boolean,
    observed: number | null,
    reason: string,
    checkedAt = new Date(),
  ): void {
    this.current = this.state(mode, shiftMinutes, verified, observed, reason, checkedAt);
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics.backfillTickerWindowShift.set(this.current.shiftMinutes);
    this.metrics.backfillTickerWindowVerified.set(this.current.verified ? 1 : 0);
  }
}
