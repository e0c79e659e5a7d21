import { AsyncHook, createHook } from 'node:async_hooks';

interface Watched {
  timer: NodeJS.Timeout;
  createdAt: string;
}

/**
 * Records the timers that the code under test creates while it watches (those created from a stack
 * that passes through `origins`), so a test can tell whether something it closed left a timer
 * running: such a timer keeps the process alive, and a test run (or a service process) never ends.
 */
export class TimerWatch {
  private readonly live = new Map<number, Watched>();
  private readonly hook: AsyncHook;

  constructor(
    private readonly origins: readonly string[] = [
      '/src/',
      '/node_modules/bullmq/',
      '/node_modules/ioredis/',
    ],
  ) {
    this.hook = createHook({
      init: (asyncId, type, _trigger, resource) => {
        if (type !== 'Timeout') return;
        const stack = new Error().stack ?? '';
        const frame = stack.split('\n').find((line) => this.origins.some((origin) => line.includes(origin)));
        if (frame) this.live.set(asyncId, { timer: resource as NodeJS.Timeout, createdAt: frame.trim() });
      },
      destroy: (asyncId) => {
        this.live.delete(asyncId);
      },
    });
  }

  start(): this {
    this.hook.enable();
    return this;
  }

  stop(): void {
    this.hook.disable();
    this.live.clear();
  }

  /** Where the watched timers that still keep the process alive were created. */
  keepingAlive(): string[] {
    return [...this.live.values()].filter(({ timer }) => timer.hasRef()).map(({ createdAt }) => createdAt);
  }
}
