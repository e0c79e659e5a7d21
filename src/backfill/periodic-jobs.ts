import { SetMetadata } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { BackfillConfig } from './backfill.config';

// Work that must run once per period for the whole deployment, not once per replica. With the
// backfill on, each is a BullMQ job scheduler on the backfill queue (periodic-jobs.service.ts): the
// replica whose worker takes the period's job runs it, through the queue's rate limiter. The owners
// of the work live in modules that import the backfill (the reconciler) or in the backfill itself;
// they mark a method with @RunsPeriodically and the boot binds the table below to those methods, so
// the worker dispatches to them without importing their modules.

/**
 * The settings the table reads: the backfill's own, and the reconciliation's period, which the
 * subscription events declare (a module above this one: it is injected by its namespace's token,
 * see PeriodicJobsService, never imported).
 */
export type PeriodicJobSettings = Pick<
  BackfillConfig,
  'BACKFILL_INTERVAL_SECONDS' | 'BACKFILL_ENABLED' | 'TICKER_WINDOW_PROBE_INTERVAL_SECONDS' | 'HISTORY_PROVIDER'
> & { RECONCILE_INTERVAL_SECONDS: number };

/** Every periodic job: its period and whether this configuration runs it. */
export const PERIODIC_JOB_TABLE = {
  /** The scheduled gap fill (BackfillScheduler). */
  'backfill-cycle': {
    everySeconds: (config: PeriodicJobSettings) => config.BACKFILL_INTERVAL_SECONDS,
    enabled: (config: PeriodicJobSettings) => config.BACKFILL_ENABLED,
  },
  /** The comparison of the recorded subscriptions with the ticker's list (SubscriptionReconcilerService). */
  'subscription-reconcile': {
    everySeconds: (config: PeriodicJobSettings) => config.RECONCILE_INTERVAL_SECONDS,
    enabled: () => true,
  },
  /** The ticker window probe (TickerWindowService): one request per candidate shift, like a job's. */
  'ticker-window-probe': {
    everySeconds: (config: PeriodicJobSettings) => config.TICKER_WINDOW_PROBE_INTERVAL_SECONDS,
    enabled: (config: PeriodicJobSettings) =>
      config.BACKFILL_ENABLED &&
      config.HISTORY_PROVIDER !== 'kite' &&
      config.TICKER_WINDOW_PROBE_INTERVAL_SECONDS > 0,
    // A probe the upstream did not answer is tried again in 30 s rather than the next interval.
    retry: { attempts: 3, delayMs: 30_000 },
  },
} as const satisfies Record<
  string,
  {
    everySeconds: (config: PeriodicJobSettings) => number;
    enabled: (config: PeriodicJobSettings) => boolean;
    retry?: { attempts: number; delayMs: number };
  }
>;

export type PeriodicJobName = keyof typeof PERIODIC_JOB_TABLE;
export const PERIODIC_JOB_NAMES = Object.keys(PERIODIC_JOB_TABLE) as PeriodicJobName[];

export const isPeriodicJob = (name: string): name is PeriodicJobName =>
  Object.prototype.hasOwnProperty.call(PERIODIC_JOB_TABLE, name);

const RUNS_PERIODICALLY = 'periodic-jobs:runs';

/** Marks the method that runs the periodic job `name` (no argument; resolves when the run is over). */
export const RunsPeriodically = (name: PeriodicJobName): MethodDecorator =>
  SetMetadata(RUNS_PERIODICALLY, name);

export type PeriodicJobHandler = () => Promise<void>;

/** A periodic job this configuration runs, bound to its handler. */
export interface PeriodicJob {
  name: PeriodicJobName;
  everyMs: number;
  run: PeriodicJobHandler;
  /** Runs of a period that failed are tried again this many times in all, this far apart. */
  retry?: { attempts: number; delayMs: number };
}

export class PeriodicJobSetupError extends Error {
  override name = 'PeriodicJobSetupError';
}

/**
 * The enabled periodic jobs of `config`, each bound to the one decorated method of `instances` that
 * runs it. Throws when an enabled job has no handler, when a job has two, or when a handler names a
 * job the table lacks.
 */
export function bindPeriodicJobs(
  instances: readonly object[],
  config: PeriodicJobSettings,
  reflector = new Reflector(),
): PeriodicJob[] {
  const scanner = new MetadataScanner();
  const handlers = new Map<string, { label: string; run: PeriodicJobHandler }>();
  for (const instance of new Set(instances)) {
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (!prototype) continue;
    for (const method of scanner.getAllMethodNames(prototype)) {
      const fn = (instance as Record<string, unknown>)[method];
      if (typeof fn !== 'function') continue;
      const name = reflector.get<string | undefined>(RUNS_PERIODICALLY, fn as () => unknown);
      if (name === undefined) continue;
      const label = `${instance.constructor.name}.${method}`;
      if (!isPeriodicJob(name))
        throw new PeriodicJobSetupError(`${label} runs periodic job "${name}", which the table lacks`);
      const taken = handlers.get(name);
      if (taken)
        throw new PeriodicJobSetupError(
          `periodic job "${name}" has two handlers: ${taken.label} and ${label}`,
        );
      handlers.set(name, { label, run: (fn as PeriodicJobHandler).bind(instance) as PeriodicJobHandler });
    }
  }
  const enabled = PERIODIC_JOB_NAMES.filter((name) => PERIODIC_JOB_TABLE[name].enabled(config));
  const missing = enabled.filter((name) => !handlers.has(name));
  if (missing.length > 0)
    throw new PeriodicJobSetupError(
      `no handler for the periodic job${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}: ` +
        'mark the method that runs it with @RunsPeriodically(...)',
    );
  return enabled.map((name) => {
    const entry: { everySeconds: (c: PeriodicJobSettings) => number; retry?: PeriodicJob['retry'] } =
      PERIODIC_JOB_TABLE[name];
    return {
      name,
      everyMs: entry.everySeconds(config) * 1000,
      run: handlers.get(name)!.run,
      ...(entry.retry ? { retry: entry.retry } : {}),
    };
  });
}

/** The instances of every provider of the application, for `bindPeriodicJobs`. */
export function providerInstances(discovery: DiscoveryService): object[] {
  return discovery
    .getProviders()
    .filter((wrapper) => wrapper.isDependencyTreeStatic() && !wrapper.isAlias)
    .map((wrapper) => wrapper.instance as unknown)
    .filter((instance): instance is object => typeof instance === 'object' && instance !== null);
}
