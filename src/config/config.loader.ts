import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { parse } from 'dotenv';
import { AppConfig, APP_ENVIRONMENTS, AppEnvironment, SECRET_SETTINGS } from './app-config';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigValidationError';
  }
}

const SETTING_NAMES: readonly string[] = Object.keys(new AppConfig());
const OPTIONAL_SETTINGS = ['API_KEY', 'KITE_API_KEY', 'KITE_ACCESS_TOKEN', 'DATABASE_READ_URL'];

export interface LoadConfigOptions {
  /** Folder holding `.env.dev`, `.env.staging`, `.env.production`; the working directory by default. */
  envDir?: string;
}

/**
 * Reads `.env.<APP_ENV>` (APP_ENV defaults to `dev`), lets real environment variables override it,
 * and validates every setting at once. Throws ConfigValidationError naming each bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): AppConfig {
  const appEnv = (env.APP_ENV ?? 'dev').trim();
  if (!APP_ENVIRONMENTS.includes(appEnv as AppEnvironment)) {
    throw new ConfigValidationError([
      `APP_ENV must be one of ${APP_ENVIRONMENTS.join(', ')} (got "${appEnv}")`,
    ]);
  }
  const file = join(options.envDir ?? process.cwd(), `.env.${appEnv}`);
  const fromFile = existsSync(file) ? parse(readFileSync(file)) : {};
  const raw: Record<string, string> = { APP_ENV: appEnv };
  for (const name of [...SETTING_NAMES, ...OPTIONAL_SETTINGS]) {
    const value = env[name] ?? fromFile[name];
    // An empty optional setting means "not set"; an empty required one is reported as invalid.
    if (value === undefined || (value === '' && OPTIONAL_SETTINGS.includes(name))) continue;
    raw[name] = value;
  }
  const config = plainToInstance(AppConfig, raw);
  const errors = validateSync(config, { forbidUnknownValues: true });
  const problems = [...errors.flatMap((error) => describe(error, raw)), ...acrossSettings(config)];
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return Object.freeze(config);
}

/** Environments whose mutating routes must be guarded by API_KEY unless API_KEY_DISABLED says otherwise. */
const GUARDED_ENVIRONMENTS: readonly AppEnvironment[] = ['staging', 'production'];

/** Rules that span several settings. */
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

function describe(error: ValidationError, raw: Record<string, string>): string[] {
  const value = SECRET_SETTINGS.has(error.property)
    ? '<hidden>'
    : JSON.stringify(raw[error.property] ?? null);
  return Object.values(error.constraints ?? {}).map(
    (reason) => `${error.property}: ${reason} (got ${value})`,
  );
}
