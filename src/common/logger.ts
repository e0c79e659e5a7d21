import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { AppSettingsConfig, LogLevelName } from '../config/app.config';

const LEVELS: Record<LogLevelName, LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Nest's own logger: one JSON object per line in staging and production, coloured text in dev. */
export function createLogger(config: Pick<AppSettingsConfig, 'LOG_LEVEL' | 'LOG_FORMAT'>): ConsoleLogger {
  const json = config.LOG_FORMAT === 'json';
  return new ConsoleLogger({ json, colors: !json, logLevels: LEVELS[config.LOG_LEVEL] });
}
