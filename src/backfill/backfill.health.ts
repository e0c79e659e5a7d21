import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { BackfillProcessor } from './backfill.processor';

/**
 * The worker's upstream circuit, a pause for credentials, a dependency it waits for. Reported, never
 * failed: a dead upstream must not take the API (which serves stored data) out of the load balancer.
 */
@Injectable()
export class BackfillHealthIndicator {
  constructor(
    private readonly processor: BackfillProcessor,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    return this.health.check(key).up(this.processor.status());
  }
}

/**
 * Stands for the backfill's indicators (`backfill`, `ticker_window`) with BACKFILL_ENABLED=false:
 * there is no worker to report on, so the checks are absent from readiness (and one named in
 * HEALTH_READINESS_REQUIRES is not failed for being switched off).
 */
@Injectable()
export class DisabledBackfillHealthIndicator {
  isHealthy(): HealthIndicatorResult {
    return {};
  }
}
