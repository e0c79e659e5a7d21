import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { loadAppConfig } from './app.settings';
import { ConfigValidationError } from './config/config.loader';
import { OffsetClock, SystemClock } from './contracts/market-time';
import { StorageModeError } from './database/timescaledb';

async function bootstrap(): Promise<void> {
  let loaded;
  try {
    loaded = await loadAppConfig();
  } catch (error) {
    if (!(error instanceof ConfigValidationError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  const { config } = loaded;
  const logger = new Logger('Bootstrap');
  const offsetMs = config.MARKET_CLOCK_OFFSET_SECONDS * 1000;
  const clock = offsetMs === 0 ? new SystemClock() : new OffsetClock(new Date(Date.now() + offsetMs));
  const app = await createApp(loaded, { clock });
  if (offsetMs !== 0) {
    logger.warn(
      `market clock offset by ${config.MARKET_CLOCK_OFFSET_SECONDS} s: it reads ${clock.now().toISOString()}`,
    );
  }

  // Nest closes the app on SIGTERM (enableShutdownHooks) and then re-raises the signal. This listener
  // turns that second delivery into exit code 0, and bounds the whole shutdown.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(0);
    stopping = true;
    logger.log(
      `${signal} received: stopping new work, draining in-flight work (at most ${config.SHUTDOWN_TIMEOUT_MS} ms)`,
    );
    setTimeout(() => {
      logger.error(`shutdown took longer than ${config.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 2000).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await app.listen(config.PORT);
  logger.log(`HTTP on port ${config.PORT} (${config.APP_ENV}); docs at /docs`);
  await app.startAllMicroservices();
}

bootstrap().catch((error: unknown) => {
  // A storage mode the database cannot give is a setting to change, not a crash: one line.
  if (error instanceof StorageModeError) process.stderr.write(`failed to start: ${error.message}\n`);
  else new Logger('Bootstrap').fatal(`failed to start: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
