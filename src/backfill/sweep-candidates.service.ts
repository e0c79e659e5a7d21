import { Injectable } from '@nestjs/common';
import { InstrumentsRepository } from '../market-data/instruments.repository';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';
import { BackfillCoverageRepository } from './backfill-coverage.repository';
import { BackfillJobsRepository } from './backfill-jobs.repository';
import { UnsupportedInstrumentsRepository } from './unsupported-instruments.repository';

/**
 * The instruments a scheduled cycle looks after, each table asked through its own repository: the
 * active subscriptions (or every known instrument), skipping contracts that expired before `today`
 * (an IST date; instruments without an expiry, the indices, stay; so does a subscription of an
 * instrument not described yet), those marked unsupported until their mark expires and those with
 * work already queued or running, stalest first: never covered, then by how old their newest
 * coverage is.
 */
@Injectable()
export class SweepCandidatesService {
  constructor(
    private readonly subscriptions: SubscriptionsRepository,
    private readonly instruments: InstrumentsRepository,
    private readonly unsupported: UnsupportedInstrumentsRepository,
    private readonly jobs: BackfillJobsRepository,
    private readonly coverage: BackfillCoverageRepository,
  ) {}

  async byStaleness(subscriptionAware: boolean, now: Date, today: string): Promise<number[]> {
    const subscribed = subscriptionAware ? await this.subscriptions.activeTokens() : undefined;
    const tokens = await this.instruments.unexpired(subscribed, today);
    const [marked, pending] = await Promise.all([
      this.unsupported.markedAmong(tokens, now),
      this.jobs.pendingAmong(tokens, now),
    ]);
    return this.coverage.stalestFirst(tokens.filter((token) => !marked.has(token) && !pending.has(token)));
  }
}
