import { SchedulerRegistry } from '@nestjs/schedule';

// A provider's timers live in Nest's SchedulerRegistry under names of their own (constants beside
// the provider): they are cleared at shutdown with the application, and a test finds them by name.
// Every timer is unref'd: none of them keeps a process alive on its own.

/** Runs `fire` every `ms`, under `name`. */
export function startInterval(registry: SchedulerRegistry, name: string, ms: number, fire: () => void): void {
  stopTimer(registry, name);
  const timer = setInterval(fire, ms);
  timer.unref();
  registry.addInterval(name, timer);
}

/** Runs `fire` once in `ms`, under `name`, replacing a timeout of that name not yet fired. */
export function startTimeout(registry: SchedulerRegistry, name: string, ms: number, fire: () => void): void {
  stopTimer(registry, name);
  const timer = setTimeout(() => {
    stopTimer(registry, name);
    fire();
  }, ms);
  timer.unref();
  registry.addTimeout(name, timer);
}

export function hasTimeout(registry: SchedulerRegistry, name: string): boolean {
  return registry.doesExist('timeout', name);
}

/** Clears the interval or timeout `name`, if there is one. */
export function stopTimer(registry: SchedulerRegistry, name: string): void {
  if (registry.doesExist('interval', name)) registry.deleteInterval(name);
  if (registry.doesExist('timeout', name)) registry.deleteTimeout(name);
}
