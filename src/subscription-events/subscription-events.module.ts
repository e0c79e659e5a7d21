import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { SUBSCRIPTION_RECONCILER } from './subscription-reconciler.port';
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
import { SubscriptionsQueryService } from './subscriptions-query.service';
import { SubscriptionsRepository } from './subscriptions.repository';
import { SubscriptionsService } from './subscriptions.service';
import { TickerSubscriptionsClient } from './ticker-subscriptions.client';

/**
 * Subscription events (Redis pub/sub), reconciliation against the ticker's list, and the
 * subscriptions API. Provides SUBSCRIPTION_RECONCILER to the whole application. The transport is a
 * provider so that one owner holds its Redis connection; the app factory connects it as the
 * microservice strategy only when SUBSCRIPTION_EVENTS_ENABLED.
 */
@Global()
@Module({
  imports: [TerminusModule],
  controllers: [SubscriptionEventsController, SubscriptionsController],
  providers: [
    {
      provide: SubscriptionEventsTransport,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new SubscriptionEventsTransport({
          redisUrl: config.REDIS_URL,
          channel: subscriptionEventsChannel(config.REDIS_CHANNEL_PREFIX),
          // Named per channel prefix so that several deployments (or test apps) on one Redis are told apart.
          connectionName: `${SUBSCRIPTION_EVENTS_CONNECTION_NAME}:${config.REDIS_CHANNEL_PREFIX}`,
        }),
    },
    SubscriptionsRepository,
    SubscriptionsService,
    SubscriptionsQueryService,
    TickerSubscriptionsClient,
    SubscriptionReconcilerService,
    SubscriptionEventsService,
    { provide: SUBSCRIPTION_RECONCILER, useExisting: SubscriptionReconcilerService },
    SubscriptionEventsHealthIndicator,
  ],
  exports: [SUBSCRIPTION_RECONCILER, SubscriptionEventsTransport, SubscriptionEventsHealthIndicator],
})
export class SubscriptionEventsModule {}
