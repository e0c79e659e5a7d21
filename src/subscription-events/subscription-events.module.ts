import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { appConfig } from '../config/app.config';
import { provideSettings } from '../config/settings';
import { redisConfig, RedisConfig } from '../redis/redis.config';
import { eventsConfig } from './subscription-events.config';
import { MarketDataModule } from '../market-data/market-data.module';
import { SubscriptionsStoreModule } from '../subscriptions-store/subscriptions-store.module';
import { SubscriptionEventsController } from './subscription-events.controller';
import {
  subscriptionEventsChannel,
  SUBSCRIPTION_EVENTS_CONNECTION_NAME,
} from './subscription-events.constants';
import { SubscriptionEventsHealthIndicator } from './subscription-events.health';
import { SubscriptionEventsService } from './subscription-events.service';
import { SubscriptionEventsTransport } from './subscription-events.transport';
import { SubscriptionReconcilerService } from './subscription-reconciler.service';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsQueryRepository } from './subscriptions-query.repository';
import { SubscriptionsQueryService } from './subscriptions-query.service';
import { SubscriptionsService } from './subscriptions.service';
import { TickerSubscriptionsClient } from './ticker-subscriptions.client';

/**
 * Subscription events (Redis pub/sub), reconciliation against the ticker's list, and the
 * subscriptions API. The transport is a provider so that one owner holds its Redis connection; the app
 * factory connects it as the microservice strategy only when SUBSCRIPTION_EVENTS_ENABLED.
 */
@Module({})
export class SubscriptionEventsModule {
  /** `backfill`: the BackfillModule object AppModule imports (see HealthModule.forRoot). */
  static forRoot(backfill: DynamicModule): DynamicModule {
    return {
      module: SubscriptionEventsModule,
      imports: [TerminusModule, MarketDataModule, SubscriptionsStoreModule, backfill],
      controllers: [SubscriptionEventsController, SubscriptionsController],
      providers: [
        {
          provide: SubscriptionEventsTransport,
          inject: [redisConfig.KEY],
          useFactory: (config: RedisConfig) =>
            new SubscriptionEventsTransport({
              redisUrl: config.REDIS_URL,
              channel: subscriptionEventsChannel(config.REDIS_CHANNEL_PREFIX),
              // Named per channel prefix so that several deployments (or test apps) on one Redis are told apart.
              connectionName: `${SUBSCRIPTION_EVENTS_CONNECTION_NAME}:${config.REDIS_CHANNEL_PREFIX}`,
            }),
        },
        SubscriptionsService,
        SubscriptionsQueryRepository,
        SubscriptionsQueryService,
        TickerSubscriptionsClient,
        SubscriptionReconcilerService,
        SubscriptionEventsService,
        SubscriptionEventsHealthIndicator,
        provideSettings(eventsConfig, appConfig),
      ],
      exports: [SubscriptionEventsTransport, SubscriptionEventsHealthIndicator],
    };
  }
}
