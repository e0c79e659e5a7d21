import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startSimulator } from '../../simulator/simulator';
import { freePort } from '../../test/support/service-process';
import { waitFor } from '../../test/support/wait-for';

export interface SimulatorProcessOptions {
  /** Simulated time at start (ISO), running on at real speed. */
  start: string;
  /** The simulator's own /history limit; 0 leaves it unlimited. */
  historyRatePerSec: number;
  /** Omitted: the simulator's default chain width. */
  strikesEachSide?: number;
  /**
   * Further SIM_* settings, over the defaults here (no live ticks, no events): a benchmark that wants
   * ticks flowing and subscription events published turns them on, with its own Redis prefix.
   */
  env?: Record<string, string>;
}

export interface SimulatorProcess {
  url: string;
  child: ChildProcess;
}

/**
 * The first `count` non-index tokens of the simulator universe. The same universe as a child's with
 * the same `strikesEachSide`: tokens are a pure function of the contracts.
 */
export async function subscriptionTokens(count: number, strikesEachSide?: number): Promise<number[]> {
  const listing = await startSimulator({ redisUrl: null, strikesEachSide, liveTickIntervalMs: 0 });
  const tokens = listing.universe.instruments
    .filter((instrument) => instrument.segment !== 'INDICES')
    .map((instrument) => instrument.instrument_token)
    .slice(0, count);
  await listing.stop();
  return tokens;
}

/**
 * Starts the simulator as its own process, answering history after 100 ms, with neither live ticks
 * nor events: its candles are built from ticks, which would otherwise compete with the service for
 * one event loop.
 */
export async function startSimulatorProcess(options: SimulatorProcessOptions): Promise<SimulatorProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'simulator/main.ts'], {
    cwd: resolve(__dirname, '..', '..'),
    env: {
      PATH: process.env.PATH ?? '',
      TS_NODE_TRANSPILE_ONLY: 'true',
      SIM_PORT: String(port),
      SIM_CLOCK_START: options.start,
      SIM_LATENCY_MS: '100',
      SIM_HISTORY_RATE_PER_SEC: String(options.historyRatePerSec),
      ...(options.strikesEachSide === undefined
        ? {}
        : { SIM_STRIKES_EACH_SIDE: String(options.strikesEachSide) }),
      SIM_LIVE_TICKS: 'false',
      SIM_EVENTS_ENABLED: 'false',
      ...options.env,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('simulator', async () => (await fetch(`${url}/health`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return { url, child };
}
