import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { BackfillModule } from './backfill/backfill.module';
import { FlagsModule } from './flags/flags.module';
import { ConfigModule } from './config/config.module';
import { Clock, SystemClock } from './contracts/market-time';
import { MarketTimeModule } from './common/market-time.module';
import { UnavailableInterceptor } from './common/unavailable.interceptor';
import { DatabaseModule } from './database/database.module';
import { ExportModule } from './export/export.module';
import { FoStreamModule } from './fo-stream/fo-stream.module';
import { HealthModule } from './health/health.module';
import { OptionChainModule } from './market-data/option-chain.module';
import { MarketDataModule } from './market-data/market-data.module';
import { MetricsModule } from './metrics/metrics.module';
import { RedisModule } from './redis/redis.module';
import { SubscriptionEventsModule } from './subscription-events/subscription-events.module';
import { UdfModule } from './udf/udf.module';
import { UiModule } from './ui/ui.module';
import { AppConfig } from './app.settings';
import { LoadedConfig } from './config/config.loader';

@Module({})
export class AppModule {
  static forRoot(loaded: LoadedConfig<AppConfig>, clock: Clock = new SystemClock()): DynamicModule {
    const { config } = loaded;
    // Built once and the same object handed to every importer: Nest 11 tells dynamic modules apart
    // by object, so a second forRoot would be a second queue, worker and scheduler.
    const backfill = BackfillModule.forRoot(config);
    const subscriptionEvents = SubscriptionEventsModule.forRoot(backfill);
    const foStream = FoStreamModule.forRoot(backfill);
    return {
      module: AppModule,
      imports: [
        // Global: read nearly everywhere, depending on nothing of the application.
        ConfigModule.forRoot(loaded, clock),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        // The per-process timers (SchedulerRegistry), cleared at shutdown.
        ScheduleModule.forRoot(),
        // Features, each importing what it uses.
        MarketTimeModule,
        MarketDataModule,
        backfill,
        subscriptionEvents,
        foStream,
        OptionChainModule,
        UdfModule,
        ExportModule,
        UiModule,
        // Operations: read the features.
        HealthModule.forRoot([subscriptionEvents, backfill, foStream]),
        FlagsModule.forRoot(backfill),
      ],
      // Every HTTP route: "not now" (overload, a dependency down) is a 503 with Retry-After, never a 500.
      // Installed on the HTTP application in createApp (app.factory.ts), not as APP_INTERCEPTOR, which
      // would also wrap every subscription event.
      providers: [UnavailableInterceptor],
    };
  }
}
