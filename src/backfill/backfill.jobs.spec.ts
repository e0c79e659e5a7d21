import { Job } from 'bullmq';
import { BackfillJobData } from './backfill.constants';
import { BackfillJobSetupError, bindJobHandlers, HandlesBackfillJobs } from './backfill.jobs';

class Complete {
  readonly seen: string[] = [];

  @HandlesBackfillJobs('event', 'manual', 'reconcile')
  immediate(job: Job<BackfillJobData>): Promise<void> {
    this.seen.push(`immediate ${job.name}`);
    return Promise.resolve();
  }

  @HandlesBackfillJobs('stream_gap', 'sweep')
  later(job: Job<BackfillJobData>): Promise<void> {
    this.seen.push(`later ${job.name}`);
    return Promise.resolve();
  }

  notAHandler(): void {}
}

class WithoutStreamGap {
  @HandlesBackfillJobs('event', 'manual', 'reconcile', 'sweep')
  work(): Promise<void> {
    return Promise.resolve();
  }
}

class SweepTwice {
  @HandlesBackfillJobs('event', 'manual', 'reconcile', 'stream_gap', 'sweep')
  work(): Promise<void> {
    return Promise.resolve();
  }

  @HandlesBackfillJobs('sweep')
  again(): Promise<void> {
    return Promise.resolve();
  }
}

class UnknownName {
  @HandlesBackfillJobs('event', 'manual', 'reconcile', 'stream_gap', 'sweep', 'gap' as never)
  work(): Promise<void> {
    return Promise.resolve();
  }
}

const job = (name: string) => ({ name }) as Job<BackfillJobData>;

describe('backfill job handlers', () => {
  it('binds every trigger of the table to its handler, on its instance', async () => {
    const instance = new Complete();
    const handlers = bindJobHandlers([instance]);
    expect([...handlers.keys()].sort()).toEqual(['event', 'manual', 'reconcile', 'stream_gap', 'sweep']);
    await handlers.get('reconcile')!(job('reconcile'));
    await handlers.get('stream_gap')!(job('stream_gap'));
    expect(instance.seen).toEqual(['immediate reconcile', 'later stream_gap']);
  });

  it('refuses to start when a trigger has no handler', () => {
    expect(() => bindJobHandlers([new WithoutStreamGap()])).toThrow(
      new BackfillJobSetupError(
        'no handler for the backfill job "stream_gap": add the trigger to a @HandlesBackfillJobs(...) method',
      ),
    );
  });

  it('refuses two handlers for one job', () => {
    expect(() => bindJobHandlers([new SweepTwice()])).toThrow(
      'job "sweep" has two handlers: SweepTwice.work and SweepTwice.again',
    );
  });

  it('refuses a handler of a job no trigger enqueues', () => {
    expect(() => bindJobHandlers([new UnknownName()])).toThrow(
      'UnknownName.work handles job "gap", which no backfill trigger enqueues',
    );
  });
});
