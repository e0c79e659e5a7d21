import Redis from 'ioredis';
import { Clock } from '../../src/contracts/market-time';
import { RunningSimulator } from '../../simulator/simulator';
import { startTestApp, TestApp, TestAppOptions } from './app-harness';
import { testRedis } from './redis';
import { startTickSimulator } from './simulator';
import { waitFor } from './wait-for';

/** Settings that turn the FO stream consumer on with a flush grace of `graceMs`. */
export function foStreamEnv(graceMs: number): Record<string, string> {
  return { FO_STREAM_ENABLED: 'true', FO_STREAM_FLUSH_GRACE_MS: String(graceMs) };
}

/** Waits until every channel has at least `subscribers` subscribers. */
export async function waitForSubscribers(
  redis: Redis,
  what: string,
  channels: string[],
  subscribers = 1,
): Promise<void> {
  await waitFor(what, async () => {
    const counts = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
    return channels.every((_, i) => Number(counts[2 * i + 1]) >= subscribers);
  });
}

/** Futures and options that trade in every minute: each of them has a bar in every minute published. */
export function tradedDerivativeTokens(sim: RunningSimulator): number[] {
  return sim.universe.instruments
    .filter((i) => i.kind !== 'INDEX' && i.noTradeProbability === 0)
    .map((i) => i.instrument_token);
}

export interface FoStreamRig {
  app: TestApp;
  sim: RunningSimulator;
  /** A plain client for publishing and inspecting the channels. */
  redis: Redis;
  /** Stops the simulator, disconnects the client and closes the app. */
  close(): Promise<void>;
}

export interface FoStreamRigOptions {
  clock: Clock;
  graceMs: number;
  strikesEachSide: number;
  /** Harness options for the app; `env` is added to the FO stream settings. */
  app?: Omit<TestAppOptions, 'clock'>;
  /** Also wait for the underlying channel's subscription, not only the options one. */
  waitForUnderlying?: boolean;
}

/**
 * Starts the app with the FO stream on, then a simulator on the app's channels, and waits until the
 * app is subscribed so that no published tick is missed.
 */
export async function startFoStreamRig(options: FoStreamRigOptions): Promise<FoStreamRig> {
  const app = await startTestApp({
    ...options.app,
    clock: options.clock,
    env: { ...foStreamEnv(options.graceMs), ...options.app?.env },
  });
  let sim: RunningSimulator | undefined;
  let redis: Redis | undefined;
  const close = async (): Promise<void> => {
    await sim?.stop();
    redis?.disconnect();
    await app.close();
  };
  try {
    sim = await startTickSimulator(app.channelPrefix, options.clock, options.strikesEachSide);
    redis = testRedis();
    const channels = options.waitForUnderlying
      ? [sim.channels.options, sim.channels.underlying]
      : [sim.channels.options];
    await waitForSubscribers(redis, 'the tick subscription', channels);
    return { app, sim, redis, close };
  } catch (error) {
    await close();
    throw error;
  }
}
