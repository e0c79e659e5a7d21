import { Module } from '@nestjs/common';
import { SubscriptionsRepository } from './subscriptions.repository';

/**
 * The `subscriptions` table: the service's record of what the ticker has subscribed. Its own module
 * so that both the subscription events (which write it) and the backfill (whose cycle works from the
 * active subscriptions) can import it: the subscription events import the backfill's port, so the
 * backfill importing them back would make a circle.
 */
@Module({
  providers: [SubscriptionsRepository],
  exports: [SubscriptionsRepository],
})
export class SubscriptionsStoreModule {}
