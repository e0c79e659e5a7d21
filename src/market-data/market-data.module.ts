import { Module } from '@nestjs/common';
import { MarketTimeModule } from '../common/market-time.module';
import { upstreamConfig } from '../common/upstream.config';
import { provideSettings } from '../config/settings';
import { CandleAggregatesRefresher } from './candle-aggregates.refresher';
import { CandleAggregatesRepository } from './candle-aggregates.repository';
import { CandlesQueryRepository } from './candles-query.repository';
import { CandlesController } from './candles.controller';
import { CandlesRepository } from './candles.repository';
import { CandlesService } from './candles.service';
import { InstrumentListService } from './instrument-list.service';
import { InstrumentsRepository } from './instruments.repository';
import { instrumentsConfig } from './instruments.config';
import { InstrumentsService } from './instruments.service';

/**
 * Candle and instrument storage and the candles read API. Imported by the backfill, the tick stream,
 * the subscription events (instruments) and the UDF datafeed. Instruments are written through
 * `InstrumentsService`, which completes them from the day's instrument list and their tradingsymbols
 * (with the NSE calendar, for monthly expiries).
 */
@Module({
  imports: [MarketTimeModule],
  controllers: [CandlesController],
  providers: [
    CandlesRepository,
    InstrumentsRepository,
    provideSettings(instrumentsConfig, upstreamConfig),
    InstrumentListService,
    InstrumentsService,
    CandlesQueryRepository,
    CandlesService,
    CandleAggregatesRefresher,
    CandleAggregatesRepository,
  ],
  exports: [CandlesRepository, InstrumentsRepository, InstrumentsService, CandlesService],
})
export class MarketDataModule {}
