import { Global, Inject, Module, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { ReadinessRegistry } from '../health/readiness.registry';
import { SUBSCRIPTION_RECONCILER } from './subscription-reconciler.port';
import { SubscriptionEventsController } from './subscription-events.controller';
import {
  subscriptionEventsChannel,
  SUBSCRIPTION_EVENTS_CONNECTION_NAME,
} from './subscription-events.constants';
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
  ],
  exports: [SUBSCRIPTION_RECONCILER, SubscriptionEventsTransport],
})
export class SubscriptionEventsModule implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly readiness: ReadinessRegistry,
    private readonly health: HealthIndicatorService,
    @Inject(SubscriptionEventsTransport) private readonly transport: SubscriptionEventsTransport,
    private readonly reconciler: SubscriptionReconcilerService,
  ) {}

  onModuleInit(): void {
    this.readiness.register('subscription_events', () => {
      const indicator = this.health.check('subscription_events');
      const details = {
        enabled: this.config.SUBSCRIPTION_EVENTS_ENABLED,
        channel: this.transport.channel,
        connection: this.config.SUBSCRIPTION_EVENTS_ENABLED ? this.transport.connectionStatus : 'off',
        last_reconciliation: this.reconciler.last
          ? { ...this.reconciler.last, at: this.reconciler.last.at.toISOString() }
          : null,
      };
      return !this.config.SUBSCRIPTION_EVENTS_ENABLED || this.transport.connectionStatus === 'connected'
        ? indicator.up(details)
        : indicator.down(details);
    });
  }
}
