import { Module } from '@nestjs/common';
import { MarketTimeModule } from '../common/market-time.module';
import { MarketDataModule } from '../market-data/market-data.module';
import { UdfController } from './udf.controller';
import { UdfRepository } from './udf.repository';
import { UdfService } from './udf.service';

/** `/udf/*`: the UDF datafeed over the instruments and the candles API's aggregation. */
@Module({
  imports: [MarketDataModule, MarketTimeModule],
  controllers: [UdfController],
  providers: [UdfRepository, UdfService],
})
export class UdfModule {}
