import { DependencyUnavailableError } from '../common/dependency-errors';
import { backoffDelay, BackfillFailurePolicy, failureKind } from './backfill-failure.policy';
import { BackfillRecorder } from './backfill.recorder';
import { DatabaseService } from '../database/database.service';
import { HistoryError } from './history-provider';

describe('backoffDelay', () => {
  it('grows exponentially with jitter and honours Retry-After', () => {
    expect(backoffDelay(1, undefined, () => 0)).toBe(500);
    expect(backoffDelay(1, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(4, undefined, () => 1)).toBe(8000);
    expect(backoffDelay(20, undefined, () => 1)).toBe(60_000);
    const throttled = new HistoryError('transient', '429', 429, 5000);
    expect(backoffDelay(1, throttled, () => 0)).toBe(5000);
  });
});

describe('BackfillFailurePolicy', () => {
  let ping: jest.Mock<Promise<void>, []>;
  let circuit: jest.Mock;
  let policy: BackfillFailurePolicy;
  beforeEach(() => {
    ping = jest.fn(() => Promise.resolve());
    circuit = jest.fn();
    policy = new BackfillFailurePolicy(
      { ping } as unknown as DatabaseService,
      { circuit } as unknown as BackfillRecorder,
    );
  });

  it('classes an error the provider did not class as transient', () => {
    expect(failureKind(new Error('socket hang up'))).toBe('transient');
    expect(failureKind(new HistoryError('auth', 'TokenException', 403))).toBe('auth');
  });

  it("spends the job's attempt on a transient failure that is its own", () => {
    for (let token = 1; token <= 10; token++) policy.answered(token);
    expect(policy.fetchFailed(99, 'transient', Date.now())).toBe('own');
  });

  it('spends no attempt while the upstream fails for others too, within the grace after queueing', () => {
    for (let token = 1; token <= 10; token++) policy.fetchFailed(token, 'transient', Date.now());
    expect(policy.fetchFailed(99, 'transient', Date.now())).toBe('storm');
    // Queued longer ago than the grace: an outage that long counts against the job again.
    expect(policy.fetchFailed(99, 'transient', Date.now() - 31 * 60_000)).toBe('own');
  });

  it('names what a refusal means: credentials, an unknown instrument, a request refused for cause', () => {
    expect(policy.fetchFailed(1, 'auth', Date.now())).toBe('credentials');
    expect(policy.fetchFailed(1, 'unsupported', Date.now())).toBe('unsupported');
    expect(policy.fetchFailed(1, 'invalid', Date.now())).toBe('invalid');
  });

  it('opens the circuit after five transient failures in a row and refuses requests while open', () => {
    expect(policy.admitUpstream()).toBeUndefined();
    for (let i = 0; i < 5; i++) policy.fetchFailed(i, 'transient', Date.now());
    expect(policy.breaker.state).toBe('open');
    expect(policy.admitUpstream()).toBeGreaterThan(0);
    expect(circuit).toHaveBeenLastCalledWith('open');
  });

  it('puts a job back for an unreachable database after two to four seconds', () => {
    expect(policy.dependencyDelay(() => 0)).toBe(2000);
    expect(policy.dependencyDelay(() => 1)).toBe(4000);
  });

  it('tells an unreachable database from a statement of its own that was too slow', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(policy.database(() => Promise.reject(refused))).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    const cancelled = Object.assign(new Error('canceling statement due to statement timeout'), {
      code: '57014',
    });
    // The probe answers: the database serves, the statement was this job's problem.
    await expect(policy.database(() => Promise.reject(cancelled))).rejects.toBe(cancelled);
    ping.mockRejectedValueOnce(refused);
    await expect(policy.database(() => Promise.reject(cancelled))).rejects.toBeInstanceOf(
      DependencyUnavailableError,
    );
    const refusedWrite = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(policy.database(() => Promise.reject(refusedWrite))).rejects.toBe(refusedWrite);
  });
});
