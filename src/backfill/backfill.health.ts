import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { BackfillGate } from './backfill.gate';
import { BackfillService } from './backfill.service';

/**
 * What the backfill can do now: the worker's upstream circuit, a pause for credentials, a dependency it
 * waits for, and whether its queue (Redis) is reachable. Down while the queue is not: no job runs and
 * `POST /api/v1/backfill` is answered 503; job records written before stay in PostgreSQL and their
 * jobs are queued again once Redis is back. Fails readiness only where HEALTH_READINESS_REQUIRES names
 * it: a dead upstream or queue must not take the API (which serves stored data) out of the load balancer.
 */
@Injectable()
export class BackfillHealthIndicator {
  constructor(
    private readonly gate: BackfillGate,
    private readonly service: BackfillService,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key: string): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(key);
    const status = this.gate.status();
    // The connection's state, no round trip: readiness must not wait on a queue that holds commands.
    if (await this.service.queueReachable(0))
      return indicator.up({ ...status, queue: 'ready', accepts_requests: true });
    return indicator.down({
      ...status,
      queue: 'unreachable',
      accepts_requests: false,
      message:
        'backfill queue (Redis) unreachable: no job runs and POST /api/v1/backfill answers 503 until it is back; queued job records are queued again then',
    });
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
