import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MarketTimeModule } from '../common/market-time.module';
import { AppConfig } from '../config/app-config';
import { MarketDataModule } from '../market-data/market-data.module';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from './backfill.constants';
import { BackfillController } from './backfill.controller';
import { BackfillHealthIndicator, DisabledBackfillHealthIndicator } from './backfill.health';
import { BackfillQueueService } from './backfill-queue.service';
import { BackfillStatusService } from './backfill-status.service';
import { BackfillPlanner } from './backfill.planner';
import { BackfillProcessor } from './backfill.processor';
import { BackfillQueryRepository } from './backfill-query.repository';
import { BackfillRepository } from './backfill.repository';
import { BACKFILL_REQUESTER } from './backfill.requests';
import { BackfillScheduler } from './backfill.scheduler';
import { BackfillService, DisabledBackfillRequester } from './backfill.service';
import { HISTORY_PROVIDER, HistoryProvider } from './history-provider';
import { KiteHistoryProvider } from './kite-history.provider';
import { SubscriptionCheck } from './subscription-check';
import { requestTickerHistory, TickerHistoryProvider } from './ticker-history.provider';
import { TickerWindowHealthIndicator } from './ticker-window.health';
import { TICKER_WINDOW_REQUEST, TickerWindowRequest, TickerWindowService } from './ticker-window.service';

/**
 * Backfill: a BullMQ queue shared by every replica, one job per upstream history request. Exports
 * `BACKFILL_REQUESTER` (to the subscription events and the tick stream, which import this module) and
 * its readiness indicators; with BACKFILL_ENABLED=false only a requester that declines, indicators that
 * report nothing, and no queue, worker or timer.
 *
 * A dynamic module: AppModule builds it once and hands that object to every importer, since Nest 11
 * tells dynamic modules apart by object (a second forRoot would be a second queue, worker and scheduler).
 */
@Module({})
export class BackfillModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (!config.BACKFILL_ENABLED) {
      return {
        module: BackfillModule,
        imports: [MarketDataModule, MarketTimeModule],
        controllers: [BackfillController],
        providers: [
          BackfillRepository,
          BackfillQueryRepository,
          BackfillPlanner,
          BackfillStatusService,
          BackfillQueueService,
          { provide: BACKFILL_REQUESTER, useClass: DisabledBackfillRequester },
          { provide: BackfillHealthIndicator, useClass: DisabledBackfillHealthIndicator },
          { provide: TickerWindowHealthIndicator, useClass: DisabledBackfillHealthIndicator },
        ],
        exports: [BACKFILL_REQUESTER, BackfillHealthIndicator, TickerWindowHealthIndicator],
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
        TerminusModule,
        MarketDataModule,
        MarketTimeModule,
      ],
      controllers: [BackfillController],
      providers: [
        BackfillRepository,
        BackfillQueryRepository,
        BackfillPlanner,
        BackfillService,
        BackfillStatusService,
        BackfillQueueService,
        { provide: BACKFILL_REQUESTER, useExisting: BackfillService },
        {
          provide: TICKER_WINDOW_REQUEST,
          inject: [AppConfig],
          useFactory:
            (appConfig: AppConfig): TickerWindowRequest =>
            (token, window, shiftMinutes, signal) =>
              requestTickerHistory(appConfig, token, window, shiftMinutes, signal),
        },
        TickerWindowService,
        {
          provide: HISTORY_PROVIDER,
          inject: [AppConfig, TickerWindowService],
          useFactory: (appConfig: AppConfig, window: TickerWindowService): HistoryProvider =>
            appConfig.HISTORY_PROVIDER === 'kite'
              ? new KiteHistoryProvider(appConfig)
              : new TickerHistoryProvider(appConfig, window),
        },
        SubscriptionCheck,
        BackfillProcessor,
        BackfillScheduler,
        BackfillHealthIndicator,
        TickerWindowHealthIndicator,
      ],
      exports: [
        BACKFILL_REQUESTER,
        BackfillService,
        TickerWindowService,
        BackfillHealthIndicator,
        TickerWindowHealthIndicator,
      ],
    };
  }
}
