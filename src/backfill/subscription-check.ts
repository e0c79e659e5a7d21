import { Injectable } from '@nestjs/common';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';
import { BackfillJobData } from './backfill.constants';
import { BackfillTrigger } from './backfill.requests';

/**
 * The triggers whose jobs exist only because an instrument is subscribed: once it is unsubscribed,
 * nobody waits for them. A manual request, a sweep or a stream gap runs whatever the subscription.
 */
const FOR_A_SUBSCRIPTION: ReadonlySet<BackfillTrigger> = new Set<BackfillTrigger>(['event', 'reconcile']);

/**
 * Asked by a job when it starts, not by the event listener when it records a removal: the listener
 * and the requester then need no order between "request the backfill" and "drop the waiting jobs",
 * and the queue is the only buffer of backfill work. An instrument with no subscription row (a
 * request made through the port directly) is never skipped: only a recorded removal ends its jobs.
 */
@Injectable()
export class SubscriptionCheck {
  constructor(private readonly subscriptions: SubscriptionsRepository) {}

  /** Why the job should end skipped without asking the upstream, or undefined when it should run. */
  async skipReason(job: Pick<BackfillJobData, 'instrumentToken' | 'trigger'>): Promise<string | undefined> {
    if (!FOR_A_SUBSCRIPTION.has(job.trigger)) return undefined;
    // On the ingestion pool, which saw the removal commit.
    const removal = await this.subscriptions.removal(job.instrumentToken);
    if (!removal) return undefined;
    return `instrument unsubscribed${removal.at ? ` at ${removal.at.toISOString()}` : ''}`;
  }
}
