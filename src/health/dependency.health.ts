import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { healthConfig, HealthConfig } from './health.config';
import { DatabaseService } from '../database/database.service';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { withTimeout } from '../common/with-timeout';

/** Readiness of the service's own dependencies, each bounded by HEALTH_CHECK_TIMEOUT_MS. */
@Injectable()
export class DependencyHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly database: DatabaseService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
  ) {}

  async checkDatabase(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('database');
    const { timescaledb, version } = this.database.storageMode;
    try {
      await this.database.ping(this.config.HEALTH_CHECK_TIMEOUT_MS);
      return indicator.up({ timescaledb, ...(version ? { timescaledb_version: version } : {}) });
    } catch (error) {
      return indicator.down({ message: (error as Error).message, timescaledb });
    }
  }

  async checkRedis(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('redis');
    try {
      await withTimeout(this.redis.ping(), this.config.HEALTH_CHECK_TIMEOUT_MS, 'redis');
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
