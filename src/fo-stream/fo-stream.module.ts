import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MarketTimeModule } from '../common/market-time.module';
import { appConfig } from '../config/app.config';
import { provideSettings } from '../config/settings';
import { MarketDataModule } from '../market-data/market-data.module';
import { redisConfig } from '../redis/redis.config';
import { streamConfig } from './fo-stream.config';
import { FoBarBuilder } from './fo-bar.builder';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoStreamHealthIndicator } from './fo-stream.health';
import { FoStreamService } from './fo-stream.service';
import { FoStreamSubscriber } from './fo-stream.subscriber';

/** Live option, future and index ticks into 1-minute bars (`source = stream`). */
@Module({})
export class FoStreamModule {
  /** `backfill`: the BackfillModule object AppModule imports, for the refill of stream gaps. */
  static forRoot(backfill: DynamicModule): DynamicModule {
    return {
      module: FoStreamModule,
      imports: [TerminusModule, MarketDataModule, MarketTimeModule, backfill],
      providers: [
        { provide: FoBarBuilder, useFactory: () => new FoBarBuilder() },
        FoStreamService,
        FoStreamFlusher,
        FoStreamSubscriber,
        FoStreamHealthIndicator,
        provideSettings(streamConfig, redisConfig, appConfig),
      ],
      exports: [FoStreamService, FoStreamFlusher, FoStreamSubscriber, FoStreamHealthIndicator],
    };
  }
}
