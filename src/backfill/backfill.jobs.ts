import { SetMetadata } from '@nestjs/common';
import { MetadataScanner, Reflector } from '@nestjs/core';
import { Job } from 'bullmq';
import { BackfillJobData } from './backfill.constants';
import { BACKFILL_TRIGGERS, BackfillTrigger } from './backfill.requests';

// Jobs are named after their trigger (`BACKFILL_TRIGGER_TABLE`). A job name without a handler would
// sit in the queue and fail there, out of sight; so the handlers declare the names they work and the
// boot checks the table against them.

const HANDLES_JOBS = 'backfill:handles-jobs';

export type BackfillJobHandler = (job: Job<BackfillJobData>, token?: string) => Promise<void>;

/** Marks the method that works the jobs of these triggers. */
export const HandlesBackfillJobs = (...triggers: BackfillTrigger[]): MethodDecorator =>
  SetMetadata(HANDLES_JOBS, triggers);

export class BackfillJobSetupError extends Error {
  override name = 'BackfillJobSetupError';
}

/**
 * The handler of every job of the trigger table, from the decorated methods of `instances` (bound to
 * them). Throws when a trigger has no handler or two, or a handler names a job the table lacks.
 */
export function bindJobHandlers(
  instances: readonly object[],
  reflector = new Reflector(),
): Map<BackfillTrigger, BackfillJobHandler> {
  const scanner = new MetadataScanner();
  const handlers = new Map<BackfillTrigger, { label: string; handler: BackfillJobHandler }>();
  for (const instance of instances) {
    const prototype = Object.getPrototypeOf(instance) as object;
    for (const method of scanner.getAllMethodNames(prototype)) {
      const fn = (instance as Record<string, unknown>)[method] as BackfillJobHandler;
      const names = reflector.get<BackfillTrigger[] | undefined>(HANDLES_JOBS, fn) ?? [];
      const label = `${instance.constructor.name}.${method}`;
      for (const name of names) {
        if (!(BACKFILL_TRIGGERS as string[]).includes(name))
          throw new BackfillJobSetupError(
            `${label} handles job "${name}", which no backfill trigger enqueues`,
          );
        const taken = handlers.get(name);
        if (taken)
          throw new BackfillJobSetupError(`job "${name}" has two handlers: ${taken.label} and ${label}`);
        handlers.set(name, { label, handler: fn.bind(instance) as BackfillJobHandler });
      }
    }
  }
  const missing = BACKFILL_TRIGGERS.filter((trigger) => !handlers.has(trigger));
  if (missing.length > 0)
    throw new BackfillJobSetupError(
      `no handler for the backfill job${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}: ` +
        'add the trigger to a @HandlesBackfillJobs(...) method',
    );
  return new Map([...handlers].map(([name, { handler }]) => [name, handler]));
}
