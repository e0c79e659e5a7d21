import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { streamConfig, StreamConfig } from './fo-stream.config';
import { MAX_PENDING_BARS } from './fo-stream.constants';
import { FoStreamFlusher } from './fo-stream.flusher';

/** The bar writer's backlog and what it parked; absent from readiness with FO_STREAM_ENABLED=false. */
@Injectable()
export class FoStreamHealthIndicator {
  constructor(
    private readonly flusher: FoStreamFlusher,
    @Inject(streamConfig.KEY) private readonly config: StreamConfig,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key: string): HealthIndicatorResult {
    if (!this.config.FO_STREAM_ENABLED) return {};
    const indicator = this.health.check(key);
    const details = this.flusher.status();
    // A backlog alone keeps the pod ready (the database check reports the outage itself, and the
    // REST API still serves stored data); only a full backlog, where minutes are being dropped, is down.
    return this.flusher.backlog >= MAX_PENDING_BARS ? indicator.down(details) : indicator.up(details);
  }
}
