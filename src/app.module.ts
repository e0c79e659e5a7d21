import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { BackfillModule } from './backfill/backfill.module';
import { ConfigModule } from './config/config.module';
import { Clock, SystemClock } from './contracts/market-time';
import { MarketTimeModule } from './common/market-time.module';
import { DatabaseModule } from './database/database.module';
import { FoStreamModule } from './fo-stream/fo-stream.module';
import { HealthModule } from './health/health.module';
import { OptionChainModule } from './market-data/option-chain.module';
import { MarketDataModule } from './market-data/market-data.module';
import { MetricsModule } from './metrics/metrics.module';
import { RedisModule } from './redis/redis.module';
import { SubscriptionEventsModule } from './subscription-events/subscription-events.module';
import { UdfModule } from './udf/udf.module';
import { UiModule } from './ui/ui.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, clock: Clock = new SystemClock()): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MarketTimeModule.forRoot(clock),
        MetricsModule,
        DatabaseModule,
        MarketDataModule,
        RedisModule,
        HealthModule,
        SubscriptionEventsModule,
        BackfillModule.forRoot(config),
        FoStreamModule,
        OptionChainModule,
        UdfModule,
        UiModule,
      ],
    };
  }
}
