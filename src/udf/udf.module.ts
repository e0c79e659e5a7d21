import { Module } from '@nestjs/common';
import { UdfController } from './udf.controller';
import { UdfRepository } from './udf.repository';
import { UdfService } from './udf.service';

/** `/udf/*`: the UDF datafeed over the instruments and the candles API's aggregation. */
@Module({
  controllers: [UdfController],
  providers: [UdfRepository, UdfService],
})
export class UdfModule {}
