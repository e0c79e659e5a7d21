import { backfillConfig } from './backfill/backfill.config';
import { httpConfig } from './common/http.config';
import { calendarConfig } from './common/market-calendar.config';
import { upstreamConfig } from './common/upstream.config';
import { AppEnvironment, appConfig } from './config/app.config';
import { ConfigDefinition, ConfigSource, LoadedConfig, loadConfig } from './config/config.loader';
import { SettingsOf } from './config/settings';
import { databaseConfig } from './database/database.config';
import { exportConfig } from './export/export.config';
import { streamConfig } from './fo-stream/fo-stream.config';
import { healthConfig } from './health/health.config';
import { instrumentsConfig } from './market-data/instruments.config';
import { redisConfig } from './redis/redis.config';
import { eventsConfig } from './subscription-events/subscription-events.config';

/** Every namespace of the service; each declared in the folder of the feature that owns it. */
export const APP_NAMESPACES = [
  appConfig,
  httpConfig,
  databaseConfig,
  redisConfig,
  upstreamConfig,
  calendarConfig,
  instrumentsConfig,
  eventsConfig,
  backfillConfig,
  streamConfig,
  healthConfig,
  exportConfig,
] as const;

/**
 * Every setting in one object: what the bootstrap, the config flags and the scripts outside Nest
 * read. `new AppConfig()` holds the declared defaults.
 */
// The interface gives the class every namespace's members, which its constructor assigns.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface AppConfig extends SettingsOf<typeof APP_NAMESPACES> {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class AppConfig {
  constructor() {
    Object.assign(this, ...APP_NAMESPACES.map((ns) => new ns.settings()));
  }
}

/** Environments whose mutating routes must be guarded by API_KEY unless API_KEY_DISABLED says otherwise. */
const GUARDED_ENVIRONMENTS: readonly AppEnvironment[] = ['staging', 'production'];

/** Rules that span several settings (and namespaces). */
function acrossSettings(config: AppConfig): string[] {
  const problems: string[] = [];
  if (config.API_KEY_DISABLED === true && config.API_KEY !== undefined)
    problems.push('API_KEY_DISABLED: true while API_KEY is set; unset one of them');
  if (
    GUARDED_ENVIRONMENTS.includes(config.APP_ENV) &&
    config.API_KEY === undefined &&
    config.API_KEY_DISABLED !== true
  )
    problems.push(
      `API_KEY: required when APP_ENV is ${config.APP_ENV} (the mutating routes would be open); set it, or API_KEY_DISABLED=true to run without one`,
    );
  if (config.INSTRUMENT_LIST_SOURCE === 'kite' && (!config.KITE_API_KEY || !config.KITE_ACCESS_TOKEN))
    problems.push(
      'INSTRUMENT_LIST_SOURCE: kite needs KITE_API_KEY and KITE_ACCESS_TOKEN; set them, or use auto, ticker or off',
    );
  return problems;
}

export const APP_CONFIG: ConfigDefinition<AppConfig> = { namespaces: APP_NAMESPACES, acrossSettings };

/**
 * The service's configuration, validated (`.env.<APP_ENV>` under real variables, or the record
 * given): for the application (`createApp`) and for the scripts that run outside it.
 */
export function loadAppConfig(source: ConfigSource = {}): Promise<LoadedConfig<AppConfig>> {
  return loadConfig(APP_CONFIG, source);
}
