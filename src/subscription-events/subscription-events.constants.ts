/**
 * The constant pattern of the subscription-event handler. The Redis channel it stands for comes from
 * configuration (`${REDIS_CHANNEL_PREFIX}:events`), and decorators are evaluated at import time, so the
 * transport maps the configured channel onto this pattern.
 */
export const SUBSCRIPTION_EVENTS_PATTERN = 'subscription-events';

/** Client name of the event connection, as `CLIENT LIST` shows it. */
export const SUBSCRIPTION_EVENTS_CONNECTION_NAME = 'mds:events';

export const SUBSCRIPTION_EVENT_TYPES = [
  'subscription_created',
  'subscription_removed',
  'subscription_deleted',
] as const;
export type SubscriptionEventType = (typeof SUBSCRIPTION_EVENT_TYPES)[number];

export function subscriptionEventsChannel(prefix: string): string {
  return `${prefix}:events`;
}
