import { INestApplication, LoggerService } from '@nestjs/common';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadAppConfig } from '../../src/app.settings';
import { Clock } from '../../src/contracts/market-time';
import { createTestDatabase, TestDatabase } from './database';
import { TEST_REDIS_URL, uniqueName } from './env';
import { forgetResponsesFrom, validateResponsesFrom } from './openapi-responses';
import { deleteKeys, testRedis } from './redis';

export interface TestAppOptions {
  /** Settings on top of the harness defaults (every optional subsystem off). */
  env?: Record<string, string>;
  clock?: Clock;
  /** Share a database (and prefixes) with another instance, as replicas do. */
  database?: TestDatabase;
  /** Cluster of the database the harness creates (TEST_PG_ADMIN_URL by default). */
  adminUrl?: string;
  channelPrefix?: string;
  queuePrefix?: string;
  logger?: LoggerService;
}

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  url: string;
  database: TestDatabase;
  channelPrefix: string;
  queuePrefix: string;
  /** Closes the app; drops the database and the Redis keys only if this instance created them. */
  close(): Promise<void>;
}

const quiet: LoggerService = {
  log: () => undefined,
  warn: () => undefined,
  error: (...args: unknown[]) => {
    if (process.env.TEST_LOG) console.error(...args);
  },
  debug: () => undefined,
  verbose: () => undefined,
};

/**
 * Starts the real application in-process against the shared PostgreSQL (a database of its own) and
 * Redis (channel and queue prefixes of its own), on an ephemeral port.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownsDatabase = !options.database;
  const database = options.database ?? (await createTestDatabase(undefined, options.adminUrl));
  const channelPrefix = options.channelPrefix ?? `${uniqueName('t')}:nifty`;
  const queuePrefix = options.queuePrefix ?? uniqueName('q');
  const loaded = await loadAppConfig({
    env: {
      APP_ENV: 'dev',
      PORT: '0',
      DATABASE_URL: database.url,
      DB_POOL_SIZE: '5',
      DB_MIGRATE_ON_BOOT: 'true',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_CHANNEL_PREFIX: channelPrefix,
      QUEUE_PREFIX: queuePrefix,
      SUBSCRIPTION_EVENTS_ENABLED: 'false',
      BACKFILL_ENABLED: 'false',
      FO_STREAM_ENABLED: 'false',
      // .env.dev reads the simulator's instrument list; a test that wants one asks for it.
      INSTRUMENT_LIST_SOURCE: 'off',
      // The test upstreams answer the window asked for unless a test turns their quirk on, and tests
      // count their requests: no window probe, the shift verified by the answers alone.
      TICKER_WINDOW_SHIFT_MINUTES: '0',
      TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '0',
      // Reconciliation at boot and after reconnects only, unless a test asks for the period.
      RECONCILE_INTERVAL_SECONDS: '86400',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  const { config } = loaded;
  const app = await createApp(loaded, { clock: options.clock, logger: options.logger ?? quiet });
  try {
    await app.listen(0, '127.0.0.1');
    await app.startAllMicroservices();
  } catch (error) {
    // A refused start (a test of one) leaves nothing open behind it.
    await app.close().catch(() => undefined);
    if (ownsDatabase) await database.drop();
    throw error;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  validateResponsesFrom(url);
  return {
    app,
    config,
    url,
    database,
    channelPrefix,
    queuePrefix,
    async close() {
      forgetResponsesFrom(url);
      await app.close();
      if (!ownsDatabase) return;
      await database.drop();
      const redis = testRedis();
      try {
        await deleteKeys(redis, queuePrefix);
        await deleteKeys(redis, channelPrefix);
      } finally {
        redis.disconnect();
      }
    },
  };
}
