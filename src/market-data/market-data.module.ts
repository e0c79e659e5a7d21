import { Module } from '@nestjs/common';
import { MarketTimeModule } from '../common/market-time.module';
import { CandleAggregatesRefresher } from './candle-aggregates.refresher';
import { CandleAggregatesRepository } from './candle-aggregates.repository';
import { CandlesQueryRepository } from './candles-query.repository';
import { CandlesController } from './candles.controller';
import { CandlesRepository } from './candles.repository';
import { CandlesService } from './candles.service';
import { InstrumentsRepository } from './instruments.repository';

/**
 * Candle and instrument storage and the candles read API. Imported by the backfill, the tick stream,
 * the subscription events (instruments) and the UDF datafeed.
 */
@Module({
  imports: [MarketTimeModule],
  controllers: [CandlesController],
  providers: [
    CandlesRepository,
    InstrumentsRepository,
    CandlesQueryRepository,
    CandlesService,
    CandleAggregatesRepository,
    CandleAggregatesRefresher,
  ],
  exports: [CandlesRepository, InstrumentsRepository, CandlesService],
})
export class MarketDataModule {}
