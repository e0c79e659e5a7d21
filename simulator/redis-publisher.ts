// The simulator's only Redis connection: fire-and-forget PUBLISH, pipelined.

import Redis from 'ioredis';

export type Message = readonly [channel: string, payload: string];

export interface Publisher {
  publishMany(messages: readonly Message[]): Promise<void>;
  close(): Promise<void>;
}

/** Used when the simulator runs without Redis: messages are dropped. */
export const NULL_PUBLISHER: Publisher = {
  publishMany: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

export async function connectPublisher(url: string, log: (line: string) => void): Promise<Publisher> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let outage = false;
  redis.on('error', (error: Error) => {
    // Say it once per outage; ioredis retries on its own.
    if (!outage) log(`redis error (${url}): ${error.message}; retrying`);
    outage = true;
  });
  redis.on('ready', () => {
    if (outage) log('redis connection restored');
    outage = false;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${url} (${(error as Error).message}); start it with: ` +
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no (or docker compose up redis)',
    );
  }
  return {
    async publishMany(messages) {
      if (messages.length === 0) return;
      if (messages.length === 1) {
        await redis.publish(messages[0][0], messages[0][1]);
        return;
      }
      const pipeline = redis.pipeline();
      for (const [channel, payload] of messages) pipeline.publish(channel, payload);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    },
    async close() {
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}
