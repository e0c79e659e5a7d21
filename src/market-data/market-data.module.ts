import { Global, Module } from '@nestjs/common';
import { CandlesRepository } from './candles.repository';
import { InstrumentsRepository } from './instruments.repository';

/** Candle and instrument storage shared by the backfill, the tick stream and the read API. */
@Global()
@Module({
  providers: [CandlesRepository, InstrumentsRepository],
  exports: [CandlesRepository, InstrumentsRepository],
})
export class MarketDataModule {}
