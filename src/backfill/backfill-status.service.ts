import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { badField } from '../common/validation';
import { calendarConfig, CalendarConfig } from '../common/market-calendar.config';
import { CLOCK, Clock, DAY_MS } from '../contracts/market-time';
import { InstrumentsService } from '../market-data/instruments.service';
import { BackfillPlanner } from './backfill.planner';
import { BackfillQueryRepository } from './backfill-query.repository';
import { BackfillJobRow } from './backfill-jobs.repository';
import { isUnsupportedAt } from './unsupported-instruments.repository';
import { BACKFILL_REQUESTER, BackfillRequester } from './backfill.requests';
import {
  BackfillAcceptedDto,
  BackfillJobDto,
  BackfillJobListDto,
  BackfillJobListQueryDto,
  CoverageDto,
  ManualBackfillDto,
} from './dto/backfill.dto';

/**
 * How long a manual request waits for the queue before it is answered 503 (the HTTP edge answers
 * within 2 s; the planning and the job records take the rest).
 */
const MANUAL_QUEUE_WAIT_MS = 1200;

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

function toJobDto(row: BackfillJobRow): BackfillJobDto {
  return {
    id: row.id,
    instrument_token: Number(row.instrument_token),
    trigger: row.trigger,
    window_from: iso(row.window_from)!,
    window_to: iso(row.window_to)!,
    state: row.state,
    attempts: row.attempts,
    rows_written: row.rows_written,
    error: row.error,
    requested_at: iso(row.requested_at)!,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    duration_ms: row.duration_ms,
    time_to_data_ms: row.time_to_data_ms,
  };
}

/** What the backfill API shows (from the read pool) and accepts (through the requester, on the primary). */
@Injectable()
export class BackfillStatusService {
  constructor(
    @Inject(BACKFILL_REQUESTER) private readonly requester: BackfillRequester,
    private readonly repository: BackfillQueryRepository,
    private readonly planner: BackfillPlanner,
    private readonly instruments: InstrumentsService,
    @Inject(calendarConfig.KEY) private readonly config: CalendarConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async requestManual(body: ManualBackfillDto): Promise<BackfillAcceptedDto> {
    const now = this.clock.now();
    const from = body.from ? new Date(body.from) : undefined;
    const to = body.to ? new Date(body.to) : undefined;
    if (from && from.getTime() > now.getTime()) throw badField('from', 'must not be in the future');
    if (from && to && to.getTime() <= from.getTime()) throw badField('to', 'must be after from');
    if (to && !from && to.getTime() <= this.planner.lookback().from.getTime())
      throw badField('to', 'must be after the start of the lookback when from is omitted');
    // The window's end is clipped to now, so this bounds its length too.
    const days = this.config.BACKFILL_MAX_DAYS_BACK;
    if (from && from.getTime() < now.getTime() - days * DAY_MS)
      throw badField('from', `must be at most ${days} days back (BACKFILL_MAX_DAYS_BACK)`);
    // Described from the instrument list at once, as a subscription would be; the ticker's answer
    // names it too (the processor) where no list is read.
    await this.instruments.recordListed([body.instrument_token]);
    const [result] = await this.requester.request(
      [
        {
          instrumentToken: body.instrument_token,
          trigger: 'manual',
          requestedAt: now,
          from: from ?? (to ? this.planner.lookback().from : undefined),
          to,
        },
      ],
      { queueWaitMs: MANUAL_QUEUE_WAIT_MS },
    );
    return { job_id: result.jobIds[0] ?? null, job_ids: result.jobIds, skipped: result.skipped };
  }

  async job(id: string): Promise<BackfillJobDto> {
    const row = await this.repository.findJob(id);
    if (!row) throw new NotFoundException(`no backfill job ${id}`);
    return toJobDto(row);
  }

  async jobs(query: BackfillJobListQueryDto): Promise<BackfillJobListDto> {
    const { total, capped, jobs } = await this.repository.listJobs({
      instrumentToken: query.instrument_token,
      state: query.state,
      trigger: query.trigger,
      limit: query.limit,
      offset: query.offset,
    });
    return {
      total,
      total_capped: capped,
      limit: query.limit,
      offset: query.offset,
      jobs: jobs.map(toJobDto),
    };
  }

  async coverage(instrumentToken: number): Promise<CoverageDto> {
    // Shown to a client, so read on the read pool; the same plan decides work on the primary.
    const plan = await this.planner.plan(instrumentToken, this.repository);
    const [coverage, lastCandle, marks] = await Promise.all([
      this.repository.coverage([instrumentToken], plan.lookbackFrom, plan.lookbackTo),
      this.repository.lastCandleTime(instrumentToken),
      this.repository.findUnsupported([instrumentToken]),
    ]);
    const ranges = coverage.get(instrumentToken) ?? [];
    const unsupported = marks.get(instrumentToken);
    const merged: { from: number; to: number; candles: number }[] = [];
    for (const range of ranges) {
      const last = merged[merged.length - 1];
      if (last && range.from.getTime() <= last.to) {
        last.to = Math.max(last.to, range.to.getTime());
        last.candles += range.candles;
      } else merged.push({ from: range.from.getTime(), to: range.to.getTime(), candles: range.candles });
    }
    return {
      instrument_token: instrumentToken,
      lookback_from: plan.lookbackFrom.toISOString(),
      lookback_to: plan.lookbackTo.toISOString(),
      covered: merged.map((range) => ({
        from: new Date(range.from).toISOString(),
        to: new Date(range.to).toISOString(),
        candles: range.candles,
      })),
      gaps: plan.gaps.map((gap) => ({
        from: gap.from.toISOString(),
        to: gap.to.toISOString(),
        minutes: this.planner.sessionMinuteCount(gap.from, gap.to),
      })),
      last_candle_time: lastCandle ? lastCandle.toISOString() : null,
      unsupported: unsupported
        ? {
            reason: unsupported.reason,
            first_seen_at: iso(unsupported.first_seen_at)!,
            last_seen_at: iso(unsupported.last_seen_at)!,
            expires_at: iso(unsupported.expires_at)!,
            failures: unsupported.failures,
            active: isUnsupportedAt(unsupported, this.clock.now()),
          }
        : null,
    };
  }
}
