import { join } from 'node:path';
import { DynamicModule } from '@nestjs/common';
import { ConfigModule as NestConfigModule, registerAs } from '@nestjs/config';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { APP_ENVIRONMENTS, AppEnvironment } from './app.config';
import { isSecret, settingNames, SettingsNamespace } from './settings';

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigValidationError';
  }
}

/** What the application's configuration is made of: every feature's namespace and the rules across them. */
export interface ConfigDefinition<C extends object> {
  namespaces: readonly SettingsNamespace[];
  /** Rules that span several settings, one line per problem. */
  acrossSettings(config: C): string[];
}

export interface ConfigSource {
  /**
   * The environment; `process.env` by default. A record given here (a test's own settings, a second
   * application in one process) replaces it: process.env is then neither read nor written.
   */
  env?: Record<string, string | undefined>;
  /** Folder holding `.env.dev`, `.env.staging`, `.env.production`; the working directory by default. */
  envDir?: string;
}

export interface LoadedConfig<C extends object> {
  /** Every validated setting in one frozen object (the namespaces' instances side by side). */
  config: C;
  /** `@nestjs/config`'s module holding the same values, one namespace per feature. */
  module: DynamicModule;
}

/**
 * Reads `.env.<APP_ENV>` (APP_ENV defaults to `dev`) through `@nestjs/config`'s `ConfigModule.forRoot`,
 * real environment variables overriding the file, and validates every setting of every namespace at
 * once (its `validate`). Rejects with ConfigValidationError naming each bad variable. The scripts that
 * run outside Nest call it too and use `config`.
 */
export async function loadConfig<C extends object>(
  definition: ConfigDefinition<C>,
  source: ConfigSource = {},
): Promise<LoadedConfig<C>> {
  const explicit = source.env;
  const appEnv = ((explicit ?? process.env).APP_ENV ?? 'dev').trim();
  if (!APP_ENVIRONMENTS.includes(appEnv as AppEnvironment)) {
    throw new ConfigValidationError([
      `APP_ENV must be one of ${APP_ENVIRONMENTS.join(', ')} (got "${appEnv}")`,
    ]);
  }
  let validated: Record<string, object> | undefined;
  const module = await NestConfigModule.forRoot({
    isGlobal: true,
    envFilePath: join(source.envDir ?? process.cwd(), `.env.${appEnv}`),
    // forRoot lays process.env over the file itself; an explicit record is laid over it here instead.
    validatePredefined: explicit === undefined,
    skipProcessEnv: true,
    // Returns an object of namespaces, so forRoot copies nothing back into process.env.
    validate: (merged) =>
      (validated = validateSettings(definition, { ...merged, ...explicit, APP_ENV: appEnv })),
    load: definition.namespaces.map((ns) => registerAs(ns.namespace, () => validated?.[ns.namespace] ?? {})),
  });
  const config = Object.freeze(Object.assign({}, ...Object.values(validated ?? {}))) as C;
  return { config, module };
}

function validateSettings<C extends object>(
  definition: ConfigDefinition<C>,
  raw: Record<string, unknown>,
): Record<string, object> {
  const namespaces: Record<string, object> = {};
  const problems: string[] = [];
  const declared = new Set<string>();
  for (const ns of definition.namespaces) {
    const defaults = new ns.settings() as Record<string, unknown>;
    const input: Record<string, string> = {};
    for (const name of settingNames(ns.settings)) {
      if (declared.has(name)) throw new Error(`${name} is declared by two settings namespaces`);
      declared.add(name);
      const value = raw[name];
      // An empty optional setting (no default) means "not set"; an empty required one is invalid.
      if (typeof value !== 'string' || (value === '' && defaults[name] === undefined)) continue;
      input[name] = value;
    }
    const settings = plainToInstance(ns.settings, input);
    const errors = validateSync(settings, { forbidUnknownValues: true });
    problems.push(...errors.flatMap((error) => describe(ns, error, input)));
    namespaces[ns.namespace] = settings;
  }
  const all = Object.assign({}, ...Object.values(namespaces)) as C;
  problems.push(...definition.acrossSettings(all));
  if (problems.length > 0) throw new ConfigValidationError(problems);
  for (const settings of Object.values(namespaces)) Object.freeze(settings);
  return namespaces;
}

function describe(ns: SettingsNamespace, error: ValidationError, input: Record<string, string>): string[] {
  const value = isSecret(ns.settings, error.property)
    ? '<hidden>'
    : JSON.stringify(input[error.property] ?? null);
  return Object.values(error.constraints ?? {}).map(
    (reason) => `${error.property}: ${reason} (got ${value})`,
  );
}
