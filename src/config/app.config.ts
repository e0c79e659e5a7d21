import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, Max, Min } from 'class-validator';
import { toNumber } from './setting-rules';
import { settingsNamespace } from './settings';

export const APP_ENVIRONMENTS = ['dev', 'staging', 'production'] as const;
export type AppEnvironment = (typeof APP_ENVIRONMENTS)[number];
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** What the whole process reads: the environment, logging and the shutdown bound. */
export class AppSettings {
  @IsIn(APP_ENVIRONMENTS)
  APP_ENV: AppEnvironment = 'dev';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = 'info';

  @IsIn(['json', 'pretty'])
  LOG_FORMAT: 'json' | 'pretty' = 'pretty';

  /** Bound on graceful shutdown; below Kubernetes' default 30 s grace period. */
  @Transform(toNumber)
  @IsInt()
  @Min(1000)
  @Max(25_000)
  SHUTDOWN_TIMEOUT_MS = 20_000;
}

export const appConfig = settingsNamespace('app', AppSettings);
export type AppSettingsConfig = ConfigType<typeof appConfig>;
