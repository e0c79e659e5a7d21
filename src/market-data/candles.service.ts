import { Inject, Injectable } from '@nestjs/common';
import { badField } from '../common/validation';
import { CLOCK, Clock, DAY_MS, MarketCalendar } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { AggregatedCandleRow, Bucketing, CandlesQueryRepository } from './candles-query.repository';
import { CandleDto, CandleInterval, CandlesQueryDto, CandlesResponseDto } from './dto/candles.dto';

/** 09:15 IST on 1970-01-01, in epoch seconds: intraday buckets start at the session open. */
const SESSION_OPEN_ORIGIN = 3 * 3600 + 45 * 60;
/** IST midnight (18:30 UTC the day before): a daily bucket is the IST trading day. */
const IST_MIDNIGHT_ORIGIN = -(5 * 3600 + 30 * 60);

const INTERVALS: Record<CandleInterval, { bucketing: Bucketing; maxRangeDays: number }> = {
  '1m': { bucketing: { widthSeconds: 60, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 31 },
  '3m': { bucketing: { widthSeconds: 180, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 62 },
  '5m': { bucketing: { widthSeconds: 300, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 92 },
  '10m': { bucketing: { widthSeconds: 600, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 92 },
  '15m': { bucketing: { widthSeconds: 900, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 184 },
  '30m': { bucketing: { widthSeconds: 1800, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 366 },
  '1h': { bucketing: { widthSeconds: 3600, originSeconds: SESSION_OPEN_ORIGIN }, maxRangeDays: 366 },
  '1d': { bucketing: { widthSeconds: 86_400, originSeconds: IST_MIDNIGHT_ORIGIN }, maxRangeDays: 3660 },
};

const GREEKS = ['iv', 'delta', 'gamma', 'theta', 'vega'] as const;

/** Start of the bucket holding `at`, or, `up`, of the first bucket starting at or after it. */
function bucketEdge(at: Date, { widthSeconds, originSeconds }: Bucketing, up: boolean): Date {
  const width = widthSeconds * 1000;
  const origin = originSeconds * 1000;
  const buckets = (at.getTime() - origin) / width;
  return new Date((up ? Math.ceil(buckets) : Math.floor(buckets)) * width + origin);
}

function toCandleDto(row: AggregatedCandleRow): CandleDto {
  const candle: CandleDto = {
    time: new Date(row.time).toISOString(),
    open: row.open,
    high: row.high,
    low: row.low,
    close: row.close,
    volume: Number(row.volume),
    oi: row.oi === null ? null : Number(row.oi),
  };
  for (const greek of GREEKS) if (row[greek] !== null) candle[greek] = row[greek];
  return candle;
}

/** The candles read API (CONTRACTS.md section 5). */
@Injectable()
export class CandlesService {
  constructor(
    private readonly repository: CandlesQueryRepository,
    private readonly database: DatabaseService,
    private readonly calendar: MarketCalendar,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async candles(instrumentToken: number, query: CandlesQueryDto): Promise<CandlesResponseDto> {
    const interval = query.interval;
    const spec = INTERVALS[interval];
    const to = query.to ? new Date(query.to) : this.clock.now();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DAY_MS);
    if (to.getTime() <= from.getTime()) throw badField('to', 'must be after from');
    if (to.getTime() - from.getTime() > spec.maxRangeDays * DAY_MS)
      throw badField('from', `at most ${spec.maxRangeDays} days per request at interval ${interval}`);
    // Buckets are whole: a label means every minute of its bucket, so the window is widened to the
    // buckets it touches (a `from` or `to` inside a bucket would otherwise give a part of it).
    const start = bucketEdge(from, spec.bucketing, false);
    const end = bucketEdge(to, spec.bucketing, true);
    const rows =
      interval === '1m'
        ? await this.repository.minutes(instrumentToken, start, end)
        : await this.repository.buckets(
            instrumentToken,
            start,
            end,
            spec.bucketing,
            this.database.storageMode.timescaledb,
          );
    const response: CandlesResponseDto = {
      instrument_token: instrumentToken,
      interval,
      candles: rows.map(toCandleDto),
    };
    // The one calendar the service keeps, so that no client needs a copy of its rules.
    if (query.sessions === 'true')
      response.sessions = this.calendar.sessionsBetween(start, end).map((session) => ({
        date: session.date,
        open: session.open.toISOString(),
        close: session.close.toISOString(),
      }));
    return response;
  }
}
