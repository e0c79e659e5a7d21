import { MetricsService } from '../../src/metrics/metrics.service';
import { SubscriptionEventsTransport } from '../../src/subscription-events/subscription-events.transport';
import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { TestApp } from './app-harness';
import { waitFor } from './wait-for';

/** Waits until the event connection is subscribed and the reconciliations it set off are done. */
export async function settled(app: TestApp, timeoutMs?: number): Promise<void> {
  const transport = app.app.get(SubscriptionEventsTransport);
  const reconciler = app.app.get(SubscriptionReconcilerService);
  await waitFor(
    'event connection subscribed and reconciliation idle',
    () =>
      transport.connectionStatus === 'connected' && !reconciler.running && reconciler.last?.complete === true,
    { timeoutMs },
  );
}

/** The sum of a subscription counter over every series matching `labels`. */
export async function subscriptionCounter(
  app: TestApp,
  name: 'subscriptionEvents' | 'reconciliations',
  labels: Record<string, string>,
): Promise<number> {
  const metric = await app.app.get(MetricsService)[name].get();
  return metric.values
    .filter((v) => Object.entries(labels).every(([key, value]) => v.labels[key as never] === value))
    .reduce((sum, v) => sum + v.value, 0);
}
