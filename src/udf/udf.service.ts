import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { calendarConfig, CalendarConfig } from '../common/market-calendar.config';
import { CLOCK, Clock, DAY_MS, MarketCalendar, MINUTE_MS } from '../contracts/market-time';
import { CandlesService } from '../market-data/candles.service';
import { CandleDto, CandleInterval } from '../market-data/dto/candles.dto';
import {
  UDF_EXCHANGES,
  UdfConfigDto,
  UdfHistoryDto,
  UdfHistoryQueryDto,
  UdfSearchQueryDto,
  UdfSearchResultDto,
  UdfSymbolInfoDto,
} from './dto/udf.dto';
import {
  BARS_PER_SESSION,
  priceScaleOf,
  udfBarTime,
  UDF_RESOLUTION_INTERVALS,
  UDF_RESOLUTIONS,
} from './udf-format';
import { udfSessionFieldsOf, UdfSessionFields } from './udf-session';
import { UdfInstrumentRow, UdfRepository } from './udf.repository';

/**
 * How far back `countback` looks for bars: the longest range the candles API serves in one request
 * at the interval (a longer one would be refused there).
 */
const COUNTBACK_HORIZON_DAYS: Record<CandleInterval, number> = {
  '1m': 31,
  '3m': 62,
  '5m': 92,
  '10m': 92,
  '15m': 184,
  '30m': 366,
  '1h': 366,
  '1d': 3660,
};

const INTRADAY_RESOLUTIONS = UDF_RESOLUTIONS.filter((r) => r !== '1D');

function describe(row: UdfInstrumentRow): string {
  const parts = [row.name ?? row.tradingsymbol ?? String(row.instrument_token)];
  if (row.expiry) parts.push(row.expiry);
  if (row.type === 'option' && row.strike !== null) parts.push(String(row.strike));
  if (row.instrument_type && row.type !== 'index') parts.push(row.instrument_type);
  return parts.join(' ');
}

/** TradingView's UDF protocol on top of the instruments and the candles API. */
@Injectable()
export class UdfService {
  private readonly sessionFields: UdfSessionFields;

  constructor(
    private readonly repository: UdfRepository,
    private readonly candles: CandlesService,
    @Inject(calendarConfig.KEY) config: CalendarConfig,
    calendar: MarketCalendar,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.sessionFields = udfSessionFieldsOf(config.MARKET_HOLIDAYS, calendar);
  }

  config(): UdfConfigDto {
    return {
      supported_resolutions: [...UDF_RESOLUTIONS],
      supports_group_request: false,
      supports_marks: false,
      supports_search: true,
      supports_timescale_marks: false,
      supports_time: true,
      exchanges: [
        { value: '', name: 'All exchanges', desc: '' },
        { value: 'NFO', name: 'NFO', desc: 'NSE futures and options' },
        { value: 'NSE', name: 'NSE', desc: 'NSE indices' },
      ],
      symbols_types: [
        { name: 'All types', value: '' },
        { name: 'Option', value: 'option' },
        { name: 'Futures', value: 'futures' },
        { name: 'Index', value: 'index' },
      ],
    };
  }

  /** Market time (the injected clock), epoch seconds. */
  time(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  async symbolInfo(symbol: string): Promise<UdfSymbolInfoDto> {
    const row = await this.resolve(symbol);
    const name = row.tradingsymbol ?? String(row.instrument_token);
    return {
      name,
      ticker: String(row.instrument_token),
      description: describe(row),
      type: row.type,
      ...this.sessionFields,
      exchange: row.exchange,
      listed_exchange: row.exchange,
      timezone: 'Asia/Kolkata',
      format: 'price',
      ...priceScaleOf(row.tick_size),
      has_intraday: true,
      has_daily: true,
      has_weekly_and_monthly: false,
      supported_resolutions: [...UDF_RESOLUTIONS],
      intraday_multipliers: [...INTRADAY_RESOLUTIONS],
      daily_multipliers: ['1'],
      has_empty_bars: false,
      volume_precision: 0,
      data_status: 'streaming',
      visible_plots_set: 'ohlcv',
    };
  }

  async search(query: UdfSearchQueryDto): Promise<UdfSearchResultDto[]> {
    const rows = await this.repository.search(query.query, query.limit, {
      type: query.type || undefined,
      exchange: query.exchange || undefined,
    });
    return rows.map((row) => {
      const symbol = row.tradingsymbol ?? String(row.instrument_token);
      return {
        symbol,
        full_name: `${row.exchange}:${symbol}`,
        description: describe(row),
        exchange: row.exchange,
        ticker: String(row.instrument_token),
        type: row.type,
      };
    });
  }

  /**
   * Bars from the candles API's own aggregation (CandlesService.candles), so both agree to the value.
   * With `countback`, the newest `countback` bars before `to`, looked for in widening windows.
   */
  async history(query: UdfHistoryQueryDto): Promise<UdfHistoryDto> {
    const interval = UDF_RESOLUTION_INTERVALS[query.resolution];
    const token = Number((await this.resolve(query.symbol)).instrument_token);
    const to = new Date(query.to * 1000);
    const bars =
      query.countback !== undefined
        ? await this.lastBars(token, interval, to, query.countback)
        : await this.barsBefore(token, interval, new Date(query.from! * 1000), to);
    if (bars.length === 0) {
      const nextTime = await this.nextTime(token, interval, to);
      return nextTime === undefined ? { s: 'no_data' } : { s: 'no_data', nextTime };
    }
    return {
      s: 'ok',
      t: bars.map((bar) => udfBarTime(bar.time, interval)),
      o: bars.map((bar) => bar.open),
      h: bars.map((bar) => bar.high),
      l: bars.map((bar) => bar.low),
      c: bars.map((bar) => bar.close),
      v: bars.map((bar) => bar.volume),
    };
  }

  /**
   * The bars whose UDF time lies before `to` (exclusive, as the protocol says). The candles API
   * widens `to` to the end of the bucket holding it; a daily bar's UDF time is 5h30 after its
   * bucket's start, so a `to` at a daily bar's own time (the library pages back with `to` = the
   * oldest bar it holds) lies inside that bar's bucket and would bring the same bar back forever.
   */
  private async barsBefore(
    token: number,
    interval: CandleInterval,
    from: Date,
    to: Date,
  ): Promise<CandleDto[]> {
    const end = to.getTime() / 1000;
    return (await this.bars(token, interval, from, to)).filter((bar) => udfBarTime(bar.time, interval) < end);
  }

  private async bars(token: number, interval: CandleInterval, from: Date, to: Date): Promise<CandleDto[]> {
    const response = await this.candles.candles(token, {
      from: from.toISOString(),
      to: to.toISOString(),
      interval,
    });
    return response.candles;
  }

  /**
   * The window starts at a guess of how far back `count` bars reach (sessions are 375 minutes of
   * 1440, five days of seven) and doubles until it holds more than `count` bars, so that the oldest
   * bar kept is never one the window's start cut short, or until it reaches the horizon.
   */
  private async lastBars(
    token: number,
    interval: CandleInterval,
    to: Date,
    count: number,
  ): Promise<CandleDto[]> {
    const horizonMs = COUNTBACK_HORIZON_DAYS[interval] * DAY_MS;
    const sessions = Math.ceil(count / BARS_PER_SESSION[interval]);
    let spanMs = Math.min(horizonMs, (Math.ceil((sessions * 7) / 5) + 4) * DAY_MS);
    for (;;) {
      // Exactly `spanMs` before `to`, seconds and all: a `to` off the minute (the adapter sends the
      // current second) must not stretch the window past the horizon. Nothing lies before 1970.
      const from = new Date(Math.max(0, to.getTime() - spanMs));
      if (from.getTime() >= to.getTime()) return [];
      const bars = await this.barsBefore(token, interval, from, to);
      if (bars.length > count || spanMs >= horizonMs) return bars.slice(-count);
      spanMs = Math.min(horizonMs, spanMs * 2);
    }
  }

  /**
   * The bar holding the newest minute before `to`, in the interval's buckets, in epoch MILLISECONDS
   * (unlike `t`): TradingView's adapter hands `nextTime` unchanged to the library's HistoryMetadata,
   * whose times are milliseconds. Undefined if there is no such minute.
   */
  private async nextTime(token: number, interval: CandleInterval, to: Date): Promise<number | undefined> {
    const minute = await this.repository.newestMinuteBefore(token, to);
    if (!minute) return undefined;
    const start = new Date(minute);
    const [bar] = await this.bars(token, interval, start, new Date(start.getTime() + MINUTE_MS));
    return udfBarTime(bar?.time ?? start, interval) * 1000;
  }

  private async resolve(symbol: string): Promise<UdfInstrumentRow> {
    let row: UdfInstrumentRow | undefined;
    if (/^\d{1,15}$/.test(symbol)) row = await this.repository.findByToken(Number(symbol));
    if (!row) {
      const colon = symbol.indexOf(':');
      const prefix = colon > 0 ? symbol.slice(0, colon).toUpperCase() : undefined;
      row =
        prefix && (UDF_EXCHANGES as readonly string[]).includes(prefix)
          ? await this.repository.findBySymbol(symbol.slice(colon + 1), prefix)
          : await this.repository.findBySymbol(symbol);
    }
    if (!row) throw new NotFoundException(`unknown symbol ${symbol}`);
    return row;
  }
}
