import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from './backfill.constants';
import { BackfillPlanner } from './backfill.planner';
import { BackfillRepository } from './backfill.repository';
import { BACKFILL_REQUESTER } from './backfill.requests';
import { BackfillService, DisabledBackfillRequester } from './backfill.service';

/**
 * Backfill: a BullMQ queue shared by every replica, one job per upstream history request. Provides
 * `BACKFILL_REQUESTER` to the whole application; with BACKFILL_ENABLED=false only a requester that
 * declines, and no queue or worker.
 */
@Global()
@Module({})
export class BackfillModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.BACKFILL_ENABLED) {
      return {
        module: BackfillModule,
        providers: [{ provide: BACKFILL_REQUESTER, useClass: DisabledBackfillRequester }],
        exports: [BACKFILL_REQUESTER],
      };
    }
    return {
      module: BackfillModule,
      imports: [
        BullModule.forRoot({
          // BullMQ's blocking commands need unlimited retries; a Redis restart is waited out.
          connection: { ...redisOptionsFromUrl(config.REDIS_URL), maxRetriesPerRequest: null },
          prefix: config.QUEUE_PREFIX,
        }),
        BullModule.registerQueue({ name: BACKFILL_QUEUE }),
      ],
      providers: [
        BackfillRepository,
        BackfillPlanner,
        BackfillService,
        { provide: BACKFILL_REQUESTER, useExisting: BackfillService },
      ],
      exports: [BACKFILL_REQUESTER, BackfillService],
    };
  }
}
