import { Global, Module } from '@nestjs/common';
import { CandleAggregatesRefresher } from './candle-aggregates.refresher';
import { CandleAggregatesRepository } from './candle-aggregates.repository';
import { CandlesQueryRepository } from './candles-query.repository';
import { CandlesController } from './candles.controller';
import { CandlesRepository } from './candles.repository';
import { CandlesService } from './candles.service';
import { InstrumentsRepository } from './instruments.repository';

/** Candle and instrument storage shared by the backfill, the tick stream and the read API. */
@Global()
@Module({
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
