import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { redisConfig, RedisConfig } from './redis.config';
import { REDIS_CLIENT, reconnectForever } from './redis.constants';

/**
 * The service's general-purpose Redis connection (locks, health, small keys). The queue, the event
 * transport and the tick stream own their own connections.
 */
@Injectable()
class RedisLifecycle implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [redisConfig.KEY],
      useFactory: (config: RedisConfig): Redis => {
        const logger = new Logger('Redis');
        const client = new Redis(config.REDIS_URL, {
          connectionName: 'mds:main',
          retryStrategy: reconnectForever,
          // Fail fast while disconnected instead of queueing commands without bound.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
        });
        let reported = false;
        client.on('error', (error: Error) => {
          if (!reported) logger.warn(`redis connection error: ${error.message}`);
          reported = true;
        });
        client.on('ready', () => {
          if (reported) logger.log('redis connection restored');
          reported = false;
        });
        return client;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule {}
