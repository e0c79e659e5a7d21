// `npm run sim`: the simulator as its own process, configured by the environment.

import { istDateOf, toIstIso } from '../src/contracts/market-time';
import { loadSimulatorConfig } from './config';
import { startSimulator } from './simulator';

async function main(): Promise<void> {
  let config;
  try {
    config = loadSimulatorConfig();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
  const log = (line: string): void => console.log(`[sim] ${line}`);
  const sim = await startSimulator({ ...config, log });
  const now = sim.clock.now();
  const session = sim.calendar.currentSession(now);
  log(
    `ticker simulator listening on ${sim.url} (GET /subscriptions, POST /subscriptions, GET /history, GET /health)`,
  );
  log(
    `redis ${config.redisUrl}, channels ${sim.channels.events} ${sim.channels.options} ${sim.channels.underlying}`,
  );
  log(
    `seed ${sim.seed}, reference date ${sim.universe.referenceDate}, ${sim.universe.instruments.length} instruments, ` +
      `clock ${toIstIso(now)} (${session ? 'in session' : `no session on ${istDateOf(now)} at this time`})`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    sim.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`[sim] ${(error as Error).message}`);
  process.exit(1);
});
