// Subscription events on `<prefix>:events`, in the shape the ticker really publishes or in the
// design note's shape (CONTRACTS.md section 1).

import type {
  DesignNoteSubscriptionEvent,
  TickerSubscription,
  TickerSubscriptionEvent,
} from '../src/contracts/ticker.contracts';
import type { EventShape } from './knobs';

export type SubscriptionChange = 'created' | 'removed';

export function subscriptionEvent(
  shape: EventShape,
  change: SubscriptionChange,
  subscription: TickerSubscription,
  now: Date,
): TickerSubscriptionEvent | DesignNoteSubscriptionEvent {
  const timestamp = Math.floor(now.getTime() / 1000);
  const token = subscription.instrument_token;
  if (shape === 'design-note') {
    return {
      event_type: change === 'created' ? 'subscription_created' : 'subscription_deleted',
      instrument_token: token,
      tradingsymbol: subscription.tradingsymbol,
      timestamp,
      metadata:
        change === 'created'
          ? {
              account_id: subscription.account_id,
              requested_mode: subscription.requested_mode,
              segment: subscription.segment,
            }
          : { segment: subscription.segment },
    };
  }
  return {
    event_type: change === 'created' ? 'subscription_created' : 'subscription_removed',
    instrument_token: token,
    metadata:
      change === 'created'
        ? {
            tradingsymbol: subscription.tradingsymbol,
            segment: subscription.segment,
            requested_mode: subscription.requested_mode,
            account_id: subscription.account_id,
          }
        : { tradingsymbol: subscription.tradingsymbol, segment: subscription.segment },
    timestamp,
  };
}
