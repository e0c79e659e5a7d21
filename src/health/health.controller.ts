import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorResult } from '@nestjs/terminus';
import { BackfillHealthIndicator } from '../backfill/backfill.health';
import { TickerWindowHealthIndicator } from '../backfill/ticker-window.health';
import { healthConfig, HealthConfig } from './health.config';
import { FoStreamHealthIndicator } from '../fo-stream/fo-stream.health';
import { SubscriptionEventsHealthIndicator } from '../subscription-events/subscription-events.health';
import { DependencyHealthIndicator } from './dependency.health';

type Check = () => Promise<HealthIndicatorResult> | HealthIndicatorResult;

/** Runs a check and marks each of its results with whether readiness depends on it. */
function marked(check: Check, required: boolean): () => Promise<HealthIndicatorResult> {
  return async () => {
    const result = await check();
    return Object.fromEntries(
      Object.entries(result).map(([key, value]) => [key, { ...value, required }]),
    ) as HealthIndicatorResult;
  };
}

/** Adds the results of the checks readiness does not depend on, under their real status. */
function withReported(result: HealthCheckResult, reported: HealthIndicatorResult[]): HealthCheckResult {
  const merged: HealthCheckResult = {
    ...result,
    info: { ...result.info },
    error: { ...result.error },
    details: { ...result.details },
  };
  for (const entry of reported)
    for (const [key, value] of Object.entries(entry)) {
      merged.details[key] = value;
      if (value.status === 'up') merged.info![key] = value;
      else merged.error![key] = value;
    }
  return merged;
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicator,
    private readonly subscriptionEvents: SubscriptionEventsHealthIndicator,
    private readonly backfill: BackfillHealthIndicator,
    private readonly tickerWindow: TickerWindowHealthIndicator,
    private readonly foStream: FoStreamHealthIndicator,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers; touches no dependency' })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Readiness: 503 when a check named in HEALTH_READINESS_REQUIRES (default: the database) fails; ' +
      'Redis, the event connection, the backfill and the tick stream are reported in the details ' +
      '(each with `required`) and fail readiness only when required. Each check within 1 s.',
  })
  async ready(): Promise<HealthCheckResult> {
    // A switched-off feature's indicator reports nothing: its check is absent, required or not.
    const checks: Array<[string, Check]> = [
      ['database', () => this.dependencies.checkDatabase()],
      ['redis', () => this.dependencies.checkRedis()],
      ['subscription_events', () => this.subscriptionEvents.isHealthy('subscription_events')],
      ['backfill', () => this.backfill.isHealthy('backfill')],
      ['ticker_window', () => this.tickerWindow.isHealthy('ticker_window')],
      ['fo_stream', () => this.foStream.isHealthy('fo_stream')],
    ];
    const requires = new Set<string>(this.config.HEALTH_READINESS_REQUIRES);
    const required = checks.filter(([name]) => requires.has(name)).map(([, check]) => marked(check, true));
    const reported = Promise.all(
      checks
        .filter(([name]) => !requires.has(name))
        .map(([name, check]) =>
          marked(check, false)().catch((error: Error): HealthIndicatorResult => ({
            [name]: { status: 'down', required: false, message: error.message },
          })),
        ),
    );
    try {
      return withReported(await this.health.check(required), await reported);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException(
        withReported(error.getResponse() as HealthCheckResult, await reported),
      );
    }
  }
}
