import { Clock } from '../../src/contracts/market-time';
import { RunningSimulator, startSimulator } from '../../simulator/simulator';
import { TEST_REDIS_URL } from './env';

/**
 * The full simulator universe on `channelPrefix` for history tests: its history endpoint is not
 * throttled and it publishes no live ticks, so only what the test asks for happens.
 */
export function startHistorySimulator(channelPrefix: string, clock: Clock): Promise<RunningSimulator> {
  return startSimulator({
    redisUrl: TEST_REDIS_URL,
    channelPrefix,
    clock,
    liveTickIntervalMs: 0,
    knobs: { historyRatePerSec: 0, liveTicks: false },
  });
}

/**
 * A NIFTY-only simulator publishing on `channelPrefix`, with no live ticks of its own: the test
 * publishes every minute itself, on the clock it sets.
 */
export function startTickSimulator(
  channelPrefix: string,
  clock: Clock,
  strikesEachSide: number,
): Promise<RunningSimulator> {
  return startSimulator({
    redisUrl: TEST_REDIS_URL,
    channelPrefix,
    clock,
    liveTickIntervalMs: 0,
    underlyings: ['NIFTY'],
    strikesEachSide,
  });
}
