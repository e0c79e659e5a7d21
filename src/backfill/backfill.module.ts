import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { MarketTimeModule } from '../common/market-time.module';
import { upstreamConfig, UpstreamConfig } from '../common/upstream.config';
import { appConfig } from '../config/app.config';
import { provideSettings } from '../config/settings';
import { MarketDataModule } from '../market-data/market-data.module';
import { redisConfig, RedisConfig } from '../redis/redis.config';
import { backfillConfig, BackfillConfig } from './backfill.config';
import { SubscriptionsStoreModule } from '../subscriptions-store/subscriptions-store.module';
import { BACKFILL_QUEUE, queueConnection } from './backfill.constants';
import { BackfillController } from './backfill.controller';
import { BackfillCoverageRepository } from './backfill-coverage.repository';
import { BackfillJobsRepository } from './backfill-jobs.repository';
import { BackfillHealthIndicator, DisabledBackfillHealthIndicator } from './backfill.health';
import { BackfillQueueService } from './backfill-queue.service';
import { BackfillStatusService } from './backfill-status.service';
import { CompressionLookbackCheck } from './compression-lookback.check';
import { BackfillPlanner } from './backfill.planner';
import { BackfillFailurePolicy } from './backfill-failure.policy';
import { BackfillGate } from './backfill.gate';
import { BackfillProcessor } from './backfill.processor';
import { BackfillRecorder } from './backfill.recorder';
import { BackfillWindowJob } from './backfill-window.job';
import { BackfillQueryRepository } from './backfill-query.repository';
import { BACKFILL_REQUESTER } from './backfill.requests';
import { BackfillScheduler } from './backfill.scheduler';
import { BackfillService, DisabledBackfillRequester } from './backfill.service';
import { HISTORY_PROVIDER, HistoryProvider } from './history-provider';
import { KiteHistoryProvider } from './kite-history.provider';
import { LocalPeriodicJobs, PeriodicJobsService } from './periodic-jobs.service';
import { SubscriptionCheck } from './subscription-check';
import { requestTickerHistory, TickerHistoryProvider } from './ticker-history.provider';
import { TickerWindowHealthIndicator } from './ticker-window.health';
import { TICKER_WINDOW_REQUEST, TickerWindowRequest, TickerWindowService } from './ticker-window.service';
import { SweepCandidatesService } from './sweep-candidates.service';
import { UnsupportedInstrumentsRepository } from './unsupported-instruments.repository';

/**
 * Backfill: a BullMQ queue shared by every replica, one job per upstream history request. Exports
 * `BACKFILL_REQUESTER` (to the subscription events and the tick stream, which import this module) and
 * its readiness indicators, and runs the periodic jobs of every module (periodic-jobs.ts) as job
 * schedulers on its queue; with BACKFILL_ENABLED=false only a requester that declines, indicators that
 * report nothing, the periodic jobs still enabled on per-replica timers, and no queue or worker.
 *
 * A dynamic module: AppModule builds it once and hands that object to every importer, since Nest 11
 * tells dynamic modules apart by object (a second forRoot would be a second queue, worker and scheduler).
 */
@Module({})
export class BackfillModule {
  static forRoot(config: BackfillConfig & RedisConfig): DynamicModule {
    if (!config.BACKFILL_ENABLED) {
      return {
        module: BackfillModule,
        imports: [DiscoveryModule, MarketDataModule, MarketTimeModule],
        controllers: [BackfillController],
        providers: [
          BackfillJobsRepository,
          BackfillCoverageRepository,
          UnsupportedInstrumentsRepository,
          BackfillQueryRepository,
          BackfillPlanner,
          BackfillStatusService,
          BackfillQueueService,
          LocalPeriodicJobs,
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
          connection: queueConnection(config.REDIS_URL),
          prefix: config.QUEUE_PREFIX,
        }),
        BullModule.registerQueue({ name: BACKFILL_QUEUE }),
        TerminusModule,
        DiscoveryModule,
        MarketDataModule,
        MarketTimeModule,
        SubscriptionsStoreModule,
      ],
      controllers: [BackfillController],
      providers: [
        BackfillJobsRepository,
        BackfillCoverageRepository,
        UnsupportedInstrumentsRepository,
        BackfillQueryRepository,
        BackfillPlanner,
        BackfillService,
        BackfillStatusService,
        BackfillQueueService,
        CompressionLookbackCheck,
        { provide: BACKFILL_REQUESTER, useExisting: BackfillService },
        {
          provide: TICKER_WINDOW_REQUEST,
          inject: [upstreamConfig.KEY],
          useFactory:
            (upstream: UpstreamConfig): TickerWindowRequest =>
            (token, window, shiftMinutes, signal) =>
              requestTickerHistory(upstream, token, window, shiftMinutes, signal),
        },
        TickerWindowService,
        {
          provide: HISTORY_PROVIDER,
          inject: [backfillConfig.KEY, upstreamConfig.KEY, TickerWindowService],
          useFactory: (
            backfill: BackfillConfig,
            upstream: UpstreamConfig,
            window: TickerWindowService,
          ): HistoryProvider =>
            backfill.HISTORY_PROVIDER === 'kite'
              ? new KiteHistoryProvider(upstream)
              : new TickerHistoryProvider(upstream, window),
        },
        provideSettings(backfillConfig, redisConfig, appConfig),
        BackfillRecorder,
        BackfillFailurePolicy,
        BackfillGate,
        BackfillWindowJob,
        PeriodicJobsService,
        SubscriptionCheck,
        BackfillProcessor,
        SweepCandidatesService,
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
