import { Inject, Injectable } from '@nestjs/common';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { CLOCK, Clock, floorToMinute, MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { computeGaps, TimeRange, windowsForGaps } from './backfill-gaps';
import { MAX_WINDOW_MS } from './backfill.constants';
import { CandlesRepository } from '../market-data/candles.repository';
import { BackfillCoverageRepository, CoverageRange } from './backfill-coverage.repository';

/** Where a plan reads coverage and stored minutes: the primary to decide work, the read pool to show it. */
export interface PlanReads {
  coverage(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, CoverageRange[]>>;
  storedMinutes(tokens: readonly number[], from: Date, to: Date): Promise<Map<number, number[]>>;
}

export interface InstrumentPlan {
  lookbackFrom: Date;
  /** Exclusive end: the start of the minute after the one forming now. */
  lookbackTo: Date;
  gaps: TimeRange[];
  windows: TimeRange[];
}

/** Works out which parts of an instrument's lookback still need the upstream. */
@Injectable()
export class BackfillPlanner {
  private minutesCache?: { key: string; minutes: number[] };
  /** The primary: the coverage table and the stored candles, each through its repository. */
  private readonly primary: PlanReads;

  constructor(
    coverage: BackfillCoverageRepository,
    candles: CandlesRepository,
    private readonly calendar: MarketCalendar,
    @Inject(backfillConfig.KEY) private readonly config: BackfillConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.primary = {
      coverage: (tokens, from, to) => coverage.coverage(tokens, from, to),
      storedMinutes: (tokens, from, to) => candles.storedMinutes(tokens, from, to),
    };
  }

  lookback(): TimeRange {
    const now = this.clock.now();
    return {
      from: this.calendar.lookbackStart(now, this.config.BACKFILL_LOOKBACK_SESSIONS),
      to: new Date(floorToMinute(now).getTime() + MINUTE_MS),
    };
  }

  async plan(instrumentToken: number, reads: PlanReads = this.primary): Promise<InstrumentPlan> {
    const plans = await this.planMany([instrumentToken], reads);
    return plans.get(instrumentToken)!;
  }

  /** Plans of many instruments with two queries in all, on the primary unless `reads` says otherwise. */
  async planMany(
    tokens: readonly number[],
    reads: PlanReads = this.primary,
  ): Promise<Map<number, InstrumentPlan>> {
    const { from, to } = this.lookback();
    const plans = new Map<number, InstrumentPlan>();
    if (tokens.length === 0) return plans;
    const [coverage, stored] = await Promise.all([
      reads.coverage(tokens, from, to),
      reads.storedMinutes(tokens, from, to),
    ]);
    const sessionMinutes = this.sessionMinutesOf(from, to);
    for (const token of tokens) {
      const minutes = stored.get(token) ?? [];
      const gaps = computeGaps({
        sessionMinutes,
        stored: new Set(minutes),
        coverage: coverage.get(token) ?? [],
        lastStored: minutes.length > 0 ? minutes[minutes.length - 1] : undefined,
      });
      plans.set(token, {
        lookbackFrom: from,
        lookbackTo: to,
        gaps,
        windows: windowsForGaps(gaps, MAX_WINDOW_MS),
      });
    }
    return plans;
  }

  /** The lookback's minutes change once a minute; every request in that minute shares them. */
  private sessionMinutesOf(from: Date, to: Date): number[] {
    const key = `${from.getTime()}-${to.getTime()}`;
    if (this.minutesCache?.key !== key)
      this.minutesCache = {
        key,
        minutes: this.calendar.sessionMinutes(from, to).map((minute) => minute.getTime()),
      };
    return this.minutesCache.minutes;
  }

  sessionMinuteCount(from: Date, to: Date): number {
    return this.calendar.sessionMinutes(from, to).length;
  }
}
