import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { eventsConfig, EventsConfig } from './subscription-events.config';
import { SubscriptionEventsTransport } from './subscription-events.transport';
import { SubscriptionReconcilerService } from './subscription-reconciler.service';

/**
 * The event connection and the last reconciliation. Down while SUBSCRIPTION_EVENTS_ENABLED and the
 * connection is not subscribed; with events off it still reports (up), since reconciliation runs.
 */
@Injectable()
export class SubscriptionEventsHealthIndicator {
  constructor(
    @Inject(eventsConfig.KEY) private readonly config: EventsConfig,
    @Inject(SubscriptionEventsTransport) private readonly transport: SubscriptionEventsTransport,
    private readonly reconciler: SubscriptionReconcilerService,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const enabled = this.config.SUBSCRIPTION_EVENTS_ENABLED;
    const last = this.reconciler.last;
    const details = {
      enabled,
      channel: this.transport.channel,
      connection: enabled ? this.transport.connectionStatus : 'off',
      last_reconciliation: last ? { ...last, at: last.at.toISOString() } : null,
    };
    return !enabled || this.transport.connectionStatus === 'connected'
      ? indicator.up(details)
      : indicator.down(details);
  }
}
