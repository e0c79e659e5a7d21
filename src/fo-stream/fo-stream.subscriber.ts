import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import Redis from 'ioredis';
import { streamConfig, StreamConfig } from './fo-stream.config';
import { redisConfig, RedisConfig } from '../redis/redis.config';
import { appConfig, AppSettingsConfig } from '../config/app.config';
import { InjectSettings } from '../config/settings';
import { CLOCK, Clock } from '../contracts/market-time';
import { channelsFor } from '../contracts/ticker.contracts';
import { reconnectForever } from '../redis/redis.constants';
import { FO_STREAM_CONNECTION_NAME } from './fo-stream.constants';
import { FoStreamFlusher } from './fo-stream.flusher';
import { FoStreamService } from './fo-stream.service';
import { FoChannelKind } from './fo-tick.parser';

/**
 * Owns the tick stream's Redis connection: a dedicated subscriber (a subscribed connection can do
 * nothing else), reconnecting forever. Messages go straight to FoStreamService, which never does I/O,
 * so the connection is always read as fast as Redis sends and never hits the output-buffer limit.
 */
@Injectable()
export class FoStreamSubscriber implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FoStream');
  private client?: Redis;
  private channels = new Map<string, FoChannelKind>();
  private disconnectedAt?: Date;
  private everReady = false;
  private gapRequests: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly service: FoStreamService,
    private readonly flusher: FoStreamFlusher,
    @InjectSettings(streamConfig, redisConfig, appConfig)
    private readonly config: StreamConfig & RedisConfig & AppSettingsConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The name this connection shows in `CLIENT LIST` (one per channel prefix). */
  get connectionName(): string {
    return `${FO_STREAM_CONNECTION_NAME}:${this.config.REDIS_CHANNEL_PREFIX}`;
  }

  get connected(): boolean {
    return this.client?.status === 'ready';
  }

  /** Settles once the gap requests of the latest reconnect have been made. */
  whenGapRequested(): Promise<unknown> {
    return this.gapRequests;
  }

  onApplicationBootstrap(): void {
    if (!this.config.FO_STREAM_ENABLED) {
      this.logger.log('FO_STREAM_ENABLED=false: not subscribing to option and underlying ticks');
      return;
    }
    const { options, underlying } = channelsFor(this.config.REDIS_CHANNEL_PREFIX);
    this.channels = new Map<string, FoChannelKind>([
      [options, 'options'],
      [underlying, 'underlying'],
    ]);
    this.flusher.start();
    const client = new Redis(this.config.REDIS_URL, {
      connectionName: this.connectionName,
      retryStrategy: reconnectForever,
      // The subscription is replayed on every reconnect; it must never give up.
      maxRetriesPerRequest: null,
      connectTimeout: 2000,
      autoResubscribe: true,
    });
    this.client = client;
    client.on('message', (channel: string, message: string) => {
      const kind = this.channels.get(channel);
      if (kind) this.service.receive(kind, message);
    });
    client.on('close', () => {
      if (this.everReady && !this.disconnectedAt) {
        this.disconnectedAt = this.clock.now();
        this.logger.warn('tick connection lost; reconnecting');
      }
    });
    client.on('error', (error: Error) => {
      if (!this.disconnectedAt) this.logger.debug(`tick connection error: ${error.message}`);
    });
    client.on('ready', () => {
      const since = this.disconnectedAt;
      this.everReady = true;
      this.disconnectedAt = undefined;
      if (!since) return;
      this.logger.log(`tick connection restored after a break since ${since.toISOString()}`);
      this.gapRequests = this.service.requestGap(since).catch((error: Error) => {
        this.logger.warn(`gap backfill requests failed: ${error.message}`);
      });
    });
    client.subscribe(options, underlying).then(
      () => this.logger.log(`subscribed to ${options} and ${underlying}`),
      (error: Error) => this.logger.error(`subscribe failed: ${error.message}`),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    // Stop receiving first, then write every open minute, including the session's last one.
    this.client.disconnect();
    this.client = undefined;
    await this.flusher.stop(Math.floor(this.config.SHUTDOWN_TIMEOUT_MS / 2));
    await this.gapRequests;
  }
}
