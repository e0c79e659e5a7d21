import { Queue, Worker } from 'bullmq';
import { BackfillConfig } from './backfill.config';
import { BackfillJobData } from './backfill.constants';
import { BackfillFailurePolicy } from './backfill-failure.policy';
import { BackfillGate } from './backfill.gate';
import { BackfillRecorder } from './backfill.recorder';
import { HistoryProvider } from './history-provider';

describe('BackfillGate', () => {
  let answers: boolean;
  let gate: BackfillGate;
  let worker: { pause: jest.Mock; resume: jest.Mock };
  let recorder: { dependencyDown: jest.Mock; dependencyBack: jest.Mock; circuit: jest.Mock };
  let policy: BackfillFailurePolicy;

  beforeEach(() => {
    jest.useFakeTimers();
    answers = false;
    worker = { pause: jest.fn(() => Promise.resolve()), resume: jest.fn() };
    recorder = { dependencyDown: jest.fn(), dependencyBack: jest.fn(), circuit: jest.fn() };
    policy = new BackfillFailurePolicy(
      { ping: () => (answers ? Promise.resolve() : Promise.reject(new Error('ECONNREFUSED'))) } as never,
      recorder as unknown as BackfillRecorder,
    );
    // No paused-for-credentials mark: the check at attach finds nothing to resume.
    const queue = { client: Promise.resolve({ get: () => Promise.resolve(null) }) };
    gate = new BackfillGate(
      queue as unknown as Queue<BackfillJobData>,
      { name: 'ticker' } as HistoryProvider,
      policy,
      recorder as unknown as BackfillRecorder,
      { QUEUE_PREFIX: 'q' } as BackfillConfig,
    );
    gate.attach(worker as unknown as Worker<BackfillJobData>);
  });

  afterEach(() => {
    gate.stop();
    jest.useRealTimers();
  });

  it('holds the worker while the database is down and resumes it once a probe answers', async () => {
    gate.holdFor('database', 'database unavailable: ECONNREFUSED');
    gate.holdFor('database', 'a second job met the same outage');
    expect(worker.pause).toHaveBeenCalledTimes(1);
    expect(worker.pause).toHaveBeenCalledWith(true);
    expect(gate.status().waiting_for).toMatchObject({
      dependency: 'database',
      reason: 'database unavailable: ECONNREFUSED',
    });
    expect(recorder.dependencyDown).toHaveBeenCalledWith('database');

    await jest.advanceTimersByTimeAsync(10_000);
    expect(worker.resume).not.toHaveBeenCalled();
    answers = true;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(worker.resume).toHaveBeenCalledTimes(1);
    expect(gate.status().waiting_for).toBeNull();
    expect(recorder.dependencyBack).toHaveBeenCalledWith('database', expect.any(Number));
  });

  it('holds nothing once stopping', () => {
    gate.stop();
    gate.holdFor('database', 'database unavailable');
    expect(worker.pause).not.toHaveBeenCalled();
    expect(gate.status().waiting_for).toBeNull();
  });

  it('admits a job only when the circuit lets a request go, and says how long to wait', () => {
    expect(gate.admitUpstream()).toBeUndefined();
    for (let token = 1; token <= 5; token++) policy.fetchFailed(token, 'transient', Date.now());
    expect(gate.admitUpstream()).toBeGreaterThanOrEqual(250);
    expect(gate.status()).toMatchObject({ circuit: 'open', consecutive_failures: 5 });
  });
});
