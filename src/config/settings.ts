import 'reflect-metadata';
import { FactoryProvider, Inject, Type } from '@nestjs/common';
import { ConfigFactory, ConfigFactoryKeyHost, ConfigType, getConfigToken, registerAs } from '@nestjs/config';
import { getMetadataStorage } from 'class-validator';

/**
 * Settings are declared per feature, in that feature's folder: a class whose properties are the
 * environment variables it owns (named as the variables), with their class-validator rules, their
 * defaults as initialisers and `@Secret()` where a value must never be shown. `settingsNamespace`
 * turns the class into an `@nestjs/config` namespace: `@Inject(backfillConfig.KEY)` gives the
 * validated instance, typed `ConfigType<typeof backfillConfig>`.
 */

const SECRET = Symbol('secret setting');

/** Marks a setting whose value never appears in a log line, an error message or an API response. */
export function Secret(): PropertyDecorator {
  return (target, property) => {
    const secrets = new Set<string | symbol>(
      (Reflect.getOwnMetadata(SECRET, target.constructor) as Set<string | symbol> | undefined) ?? [],
    );
    secrets.add(property);
    Reflect.defineMetadata(SECRET, secrets, target.constructor);
  };
}

export function isSecret(settings: Type<object>, name: string): boolean {
  return (Reflect.getOwnMetadata(SECRET, settings) as Set<string> | undefined)?.has(name) ?? false;
}

/** The variables a settings class declares: every property with at least one validation rule. */
export function settingNames(settings: Type<object>): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(settings, '', true, false);
  return [...new Set(metadata.map((rule) => rule.propertyName))];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- invariant in T: a list holds namespaces of several types
export interface SettingsNamespace<T extends object = any> extends ConfigFactory<T>, ConfigFactoryKeyHost<T> {
  /** The namespace, as `@nestjs/config` stores it (`ConfigService.get('backfill')`). */
  readonly namespace: string;
  /** The class declaring the namespace's settings, their rules and defaults. */
  readonly settings: Type<T>;
}

/**
 * A feature's namespace: its token (`KEY`) and type (`ConfigType`). The values behind the token are
 * registered by `loadConfig`, validated together with every other namespace; this factory is never
 * their source, so registering it on its own (`ConfigModule.forFeature`, `asProvider`) fails loudly
 * instead of shadowing them with unvalidated defaults.
 */
export function settingsNamespace<T extends object>(
  namespace: string,
  settings: Type<T>,
): SettingsNamespace<T> {
  const factory = registerAs(namespace, (): T => {
    throw new Error(`the ${namespace} settings come from loadConfig, validated with the others`);
  });
  return Object.assign(factory, { namespace, settings }) as SettingsNamespace<T>;
}

type Intersection<U> = (U extends unknown ? (part: U) => void : never) extends (part: infer I) => void
  ? I
  : never;

/** The settings of several namespaces as one object (names are unique across namespaces). */
export type SettingsOf<N extends readonly SettingsNamespace[]> = Intersection<ConfigType<N[number]>>;

function combinedToken(namespaces: readonly SettingsNamespace[]): string {
  return getConfigToken(namespaces.map((ns) => ns.namespace).join('+'));
}

/**
 * Injects the settings of one namespace, or of several as one object for a provider that reads a
 * few settings of another feature (the Redis URL, the shutdown bound); the module declaring such a
 * provider lists `provideSettings` with the same namespaces.
 */
export function InjectSettings(...namespaces: SettingsNamespace[]): PropertyDecorator & ParameterDecorator {
  return Inject(namespaces.length === 1 ? namespaces[0].KEY : combinedToken(namespaces));
}

export function provideSettings(...namespaces: SettingsNamespace[]): FactoryProvider {
  return {
    provide: combinedToken(namespaces),
    inject: namespaces.map((ns) => ns.KEY),
    useFactory: (...parts: object[]) => Object.freeze(Object.assign({}, ...parts)),
  };
}
