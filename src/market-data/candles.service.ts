import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, Clock, MarketCalendar } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { candleWindow } from './candle-intervals';
import { AggregatedCandleRow, CandlesQueryRepository } from './candles-query.repository';
import { CandleDto, CandlesQueryDto, CandlesResponseDto } from './dto/candles.dto';

const GREEKS = ['iv', 'delta', 'gamma', 'theta', 'vega'] as const;

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
    const { interval, bucketing, start, end } = candleWindow(query, this.clock.now());
    const rows =
      interval === '1m'
        ? await this.repository.minutes(instrumentToken, start, end)
        : await this.repository.buckets(
            instrumentToken,
            start,
            end,
            bucketing,
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
