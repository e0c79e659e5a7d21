import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { DependencyHealthIndicator } from './dependency.health';
import { ReadinessRegistry } from './readiness.registry';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicator,
    private readonly readiness: ReadinessRegistry,
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
    summary: 'Readiness: database and Redis reachable (each within 1 s), plus feature details',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.dependencies.checkDatabase(),
      () => this.dependencies.checkRedis(),
      ...this.readiness.all(),
    ]);
  }
}
