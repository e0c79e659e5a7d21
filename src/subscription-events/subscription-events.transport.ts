import { Logger } from '@nestjs/common';
import { RedisContext, ServerRedis } from '@nestjs/microservices';
import Redis from 'ioredis';
import { withTimeout } from '../common/with-timeout';
import { reconnectForever } from '../redis/redis.constants';
import {
  SUBSCRIPTION_EVENTS_CONNECTION_NAME,
  SUBSCRIPTION_EVENTS_PATTERN,
} from './subscription-events.constants';

export interface SubscriptionEventsTransportOptions {
  redisUrl: string;
  /** The configured channel, `${REDIS_CHANNEL_PREFIX}:events`. */
  channel: string;
  connectionName?: string;
}

export type EventsConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/**
 * The Redis transport of subscription events. The stock ServerRedis does not fit this channel:
 * it subscribes to handler patterns as literal channel names (ours is configuration), subscribes only
 * after the first connect succeeds (a Redis that is down at boot fails `startAllMicroservices()` and
 * the service would never subscribe), and unwraps any JSON with `pattern`/`data` fields as its own
 * packet. This strategy subscribes the configured channel on every `ready`, reconnects forever,
 * hands the handler the raw text (validation is the handler's job) and never fails the boot.
 *
 * `status` (inherited) reports `connected` only once the SUBSCRIBE is acknowledged, so a listener
 * that reconciles on it cannot miss an event published between the two.
 */
export class SubscriptionEventsTransport extends ServerRedis {
  private client?: Redis;
  private closing = false;
  private connectedOnce = false;
  private lastError?: string;
  private current: EventsConnectionStatus = 'connecting';
  protected readonly log = new Logger('SubscriptionEventsTransport');

  constructor(private readonly settings: SubscriptionEventsTransportOptions) {
    super({});
  }

  get channel(): string {
    return this.settings.channel;
  }

  /** The connection state as of now, for readiness. */
  get connectionStatus(): EventsConnectionStatus {
    return this.current;
  }

  override listen(callback: (error?: unknown) => void): void {
    this.closing = false;
    const client = new Redis(this.settings.redisUrl, {
      connectionName: this.settings.connectionName ?? SUBSCRIPTION_EVENTS_CONNECTION_NAME,
      retryStrategy: reconnectForever,
      // We subscribe ourselves on each `ready`, and only then report `connected`.
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      connectTimeout: 2000,
      lazyConnect: true,
    });
    this.client = client;
    client.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    client.on('ready', () => this.subscribe(client));
    client.on('error', (error: Error) => {
      // One line per distinct error, not one per retry.
      if (this.lastError === error.message) return;
      this.lastError = error.message;
      this.log.warn(`event connection error: ${error.message}`);
    });
    client.on('close', () => {
      if (this.closing) return;
      if (this.current === 'connected')
        this.log.warn(`event connection to Redis lost; reconnecting (events published meanwhile are lost)`);
      this.setStatus('disconnected');
    });
    client.on('reconnecting', () => {
      if (!this.closing) this.setStatus('reconnecting');
    });
    // A Redis that is down at boot must not fail the boot: ioredis keeps retrying in the background.
    client.connect().catch(() => undefined);
    callback();
  }

  override async close(): Promise<void> {
    this.closing = true;
    this.setStatus('closed');
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // QUIT waits for a reply, which a dead connection never sends.
    if (client.status !== 'ready') {
      client.disconnect();
      return;
    }
    await withTimeout(client.quit(), 1000, 'QUIT').catch(() => client.disconnect());
  }

  override unwrap<T>(): T {
    if (!this.client) throw new Error('the subscription-event transport is not listening');
    return this.client as T;
  }

  /**
   * Our pattern is a plain constant, never JSON: the base class would first try `JSON.parse` on it and
   * catch the exception, for every message (about a tenth of an event's cost in a burst).
   */
  protected override getRouteFromPattern(pattern: string): string {
    return pattern === SUBSCRIPTION_EVENTS_PATTERN ? pattern : super.getRouteFromPattern(pattern);
  }

  private subscribe(client: Redis): void {
    client
      .subscribe(this.settings.channel)
      .then(() => {
        if (this.closing) return;
        this.lastError = undefined;
        this.log.log(`${this.connectedOnce ? 're-subscribed' : 'subscribed'} to ${this.settings.channel}`);
        this.connectedOnce = true;
        this.setStatus('connected');
      })
      .catch((error: Error) => {
        // The connection is dropping; the next `ready` subscribes again.
        this.log.warn(`subscribe to ${this.settings.channel} failed: ${error.message}`);
      });
  }

  private dispatch(channel: string, message: string): void {
    if (channel !== this.settings.channel) return;
    const context = new RedisContext([channel]);
    this.handleEvent(
      SUBSCRIPTION_EVENTS_PATTERN,
      { pattern: SUBSCRIPTION_EVENTS_PATTERN, data: message },
      context,
    ).catch((error: Error) =>
      this.log.error(`subscription event handler failed: ${error.stack ?? error.message}`),
    );
  }

  private setStatus(status: EventsConnectionStatus): void {
    this.current = status;
    // The inherited observable speaks Nest's RedisStatus vocabulary.
    if (status === 'connected' || status === 'disconnected' || status === 'reconnecting')
      this._status$.next(status as never);
  }
}
