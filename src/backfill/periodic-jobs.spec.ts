import { AppConfig } from '../app.settings';
import { bindPeriodicJobs, PeriodicJobSetupError, RunsPeriodically } from './periodic-jobs';

class Cycle {
  runs = 0;

  @RunsPeriodically('backfill-cycle')
  cycle(): Promise<void> {
    this.runs++;
    return Promise.resolve();
  }
}

class Reconciler {
  @RunsPeriodically('subscription-reconcile')
  period(): Promise<void> {
    return Promise.resolve();
  }
}

class Probe {
  @RunsPeriodically('ticker-window-probe')
  probe(): Promise<void> {
    return Promise.resolve();
  }
}

class ReconcilerAgain {
  @RunsPeriodically('subscription-reconcile')
  again(): Promise<void> {
    return Promise.resolve();
  }
}

class Unknown {
  @RunsPeriodically('nightly' as never)
  nightly(): Promise<void> {
    return Promise.resolve();
  }
}

const config = (settings: Partial<AppConfig> = {}): AppConfig =>
  Object.assign(new AppConfig(), { BACKFILL_ENABLED: true, ...settings });

describe('periodic job handlers', () => {
  it('binds every enabled job of the table to its handler, with its period from config', async () => {
    const cycle = new Cycle();
    const jobs = bindPeriodicJobs([cycle, new Reconciler(), new Probe(), {}], config());
    expect(jobs.map((job) => [job.name, job.everyMs])).toEqual([
      ['backfill-cycle', 300_000],
      ['subscription-reconcile', 300_000],
      ['ticker-window-probe', 900_000],
    ]);
    await jobs[0].run();
    expect(cycle.runs).toBe(1);
  });

  it('leaves out the jobs this configuration switches off, handled or not', () => {
    const jobs = bindPeriodicJobs(
      [new Reconciler(), new Probe()],
      config({ BACKFILL_ENABLED: false, TICKER_WINDOW_PROBE_INTERVAL_SECONDS: 0 }),
    );
    expect(jobs.map((job) => job.name)).toEqual(['subscription-reconcile']);
  });

  it('refuses to start when an enabled job has no handler', () => {
    expect(() => bindPeriodicJobs([new Cycle(), new Reconciler()], config())).toThrow(
      new PeriodicJobSetupError(
        'no handler for the periodic job "ticker-window-probe": mark the method that runs it with @RunsPeriodically(...)',
      ),
    );
  });

  it('refuses two handlers for one job', () => {
    expect(() =>
      bindPeriodicJobs([new Cycle(), new Reconciler(), new Probe(), new ReconcilerAgain()], config()),
    ).toThrow(
      'periodic job "subscription-reconcile" has two handlers: Reconciler.period and ReconcilerAgain.again',
    );
  });

  it('refuses a handler of a job the table lacks', () => {
    expect(() => bindPeriodicJobs([new Unknown()], config())).toThrow(
      'Unknown.nightly runs periodic job "nightly", which the table lacks',
    );
  });
});
