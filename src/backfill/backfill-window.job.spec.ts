import { Job } from 'bullmq';
import { EntityManager } from 'typeorm';
import { BackfillConfig } from './backfill.config';
import { FixedClock } from '../contracts/market-time';
import { BackfillJobData } from './backfill.constants';
import { BackfillFailurePolicy } from './backfill-failure.policy';
import { BackfillGate } from './backfill.gate';
import { BackfillRecorder } from './backfill.recorder';
import { BackfillWindowJob } from './backfill-window.job';
import { HistoryError, HistoryProvider } from './history-provider';
import { HistoryAnswer } from './history-window';

// Thursday 2026-11-26 10:00 IST; the job asks for the session so far.
const NOW = '2026-11-26T04:30:00.000Z';
const DATA: BackfillJobData = {
  instrumentToken: 101,
  trigger: 'event',
  from: '2026-11-26T03:45:00.000Z',
  to: NOW,
  requestedAt: NOW,
};
const ANSWER: HistoryAnswer = { candles: [], shiftMinutes: 0, spansWindow: true };
const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

function bullJob(attemptsMade = 0): Job<BackfillJobData> {
  return {
    id: 'bf-101',
    name: 'event',
    data: DATA,
    attemptsMade,
    attemptsStarted: attemptsMade + 1,
    opts: { attempts: 3 },
    timestamp: Date.now(),
  } as unknown as Job<BackfillJobData>;
}

/** The job against mocked repositories and a real failure policy: the job's rules, no database. */
function setup() {
  const fetch = jest.fn<Promise<HistoryAnswer>, unknown[]>(() => Promise.resolve(ANSWER));
  const jobs = {
    transaction: jest.fn((work: (manager: EntityManager) => Promise<unknown>) => work({} as EntityManager)),
    ping: jest.fn(() => Promise.resolve()),
  };
  const coverage = { addCoverage: jest.fn(() => Promise.resolve()) };
  const unsupported = {
    find: jest.fn(() => Promise.resolve(new Map())),
    mark: jest.fn(() => Promise.resolve()),
    clear: jest.fn(() => Promise.resolve()),
  };
  const candles = { upsertHistory: jest.fn(() => Promise.resolve(0)), refreshAggregates: jest.fn() };
  const recorder = {
    running: jest.fn(() => Promise.resolve()),
    finish: jest.fn(() => Promise.resolve()),
    retrying: jest.fn(() => Promise.resolve()),
    ended: jest.fn(),
    committed: jest.fn(),
    candlesWritten: jest.fn(),
    upstreamRequest: jest.fn(),
    windowMismatch: jest.fn(),
    circuit: jest.fn(),
    skipped: jest.fn(),
  };
  const policy = new BackfillFailurePolicy(jobs as never, recorder as unknown as BackfillRecorder);
  const gate = {
    admitUpstream: jest.fn(() => policy.admitUpstream()),
    pauseForCredentials: jest.fn(() => Promise.resolve()),
  };
  const job = new BackfillWindowJob(
    { name: 'ticker', fetch } as unknown as HistoryProvider,
    jobs as never,
    coverage as never,
    unsupported as never,
    candles as never,
    {} as never,
    policy,
    gate as unknown as BackfillGate,
    recorder as unknown as BackfillRecorder,
    { skipReason: jest.fn(() => Promise.resolve(undefined)) } as never,
    { BACKFILL_UNSUPPORTED_TTL_SECONDS: 21_600 } as BackfillConfig,
    new FixedClock(NOW),
  );
  return { job, fetch, jobs, unsupported, recorder, policy, gate };
}

const running = (): AbortSignal => new AbortController().signal;

describe('BackfillWindowJob', () => {
  it('is done once the answer is committed with its record', async () => {
    const { job, recorder } = setup();
    expect(await job.run(bullJob(), running())).toEqual({ status: 'done' });
    expect(recorder.finish).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'bf-101' }),
      expect.objectContaining({ state: 'succeeded', attempts: 1 }),
      expect.anything(),
    );
  });

  it('is deferred without spending an attempt when the database goes away mid-run', async () => {
    const { job, jobs, recorder } = setup();
    jobs.transaction.mockRejectedValueOnce(refused());
    const outcome = await job.run(bullJob(), running());
    expect(outcome).toMatchObject({ status: 'deferred', cause: 'database' });
    expect(outcome.status === 'deferred' && outcome.delayMs).toBeGreaterThanOrEqual(2000);
    expect(recorder.retrying).not.toHaveBeenCalled();
    expect(recorder.ended).not.toHaveBeenCalled();
  });

  it('is deferred, not failed, when its last attempt fails while the database is away', async () => {
    const { job, fetch, recorder } = setup();
    fetch.mockRejectedValueOnce(new HistoryError('transient', 'stub 502', 502));
    recorder.finish.mockRejectedValueOnce(refused());
    expect(await job.run(bullJob(2), running())).toMatchObject({ status: 'deferred', cause: 'database' });
    expect(recorder.ended).not.toHaveBeenCalled();
  });

  it('spends an attempt on a failure of its own, and records the last one as failed', async () => {
    const { job, fetch, recorder } = setup();
    const error = new HistoryError('transient', 'stub 502', 502);
    fetch.mockRejectedValue(error);
    expect(await job.run(bullJob(0), running())).toEqual({ status: 'retry', error });
    expect(recorder.retrying).toHaveBeenCalledWith(expect.objectContaining({ id: 'bf-101' }), 1, 'stub 502');
    expect(await job.run(bullJob(2), running())).toEqual({ status: 'retry', error });
    expect(recorder.finish).toHaveBeenLastCalledWith(
      expect.objectContaining({ id: 'bf-101' }),
      expect.objectContaining({ state: 'failed', attempts: 3 }),
    );
    expect(recorder.ended).toHaveBeenCalledWith('event', 'failed');
  });

  it('fails without retry when asking again would get the same answer', async () => {
    const { job, fetch } = setup();
    fetch.mockRejectedValueOnce(new HistoryError('invalid', 'bad window', 400));
    expect(await job.run(bullJob(), running())).toEqual({ status: 'failed', reason: 'bad window' });
  });

  it('is skipped, parking the instrument, when the upstream does not know it', async () => {
    const { job, fetch, unsupported } = setup();
    fetch.mockRejectedValueOnce(new HistoryError('unsupported', 'unknown token', 404));
    expect(await job.run(bullJob(), running())).toEqual({ status: 'skipped', reason: 'unknown token' });
    expect(unsupported.mark).toHaveBeenCalledWith(
      101,
      'unknown token',
      expect.any(Date),
      21_600,
      expect.anything(),
    );
  });

  it('holds the queue when the upstream refuses our credentials, without spending the attempt', async () => {
    const { job, fetch, gate, recorder } = setup();
    fetch.mockRejectedValueOnce(new HistoryError('auth', 'TokenException', 403));
    expect(await job.run(bullJob(), running())).toMatchObject({
      status: 'deferred',
      cause: 'credentials',
      delayMs: 60_000,
    });
    expect(gate.pauseForCredentials).toHaveBeenCalledWith('TokenException');
    expect(recorder.retrying).toHaveBeenCalledWith(expect.anything(), 0, 'TokenException');
  });

  it('waits for the circuit without asking the upstream, and goes back at once at shutdown', async () => {
    const { job, fetch, policy } = setup();
    for (let token = 1; token <= 5; token++) policy.fetchFailed(token, 'transient', Date.now());
    expect(await job.run(bullJob(), running())).toMatchObject({ status: 'deferred', cause: 'circuit' });
    expect(fetch).not.toHaveBeenCalled();
    const stopping = new AbortController();
    stopping.abort();
    const outcome = await job.run(bullJob(), stopping.signal);
    expect(outcome).toMatchObject({ status: 'deferred', cause: 'shutdown' });
    expect(outcome.status === 'deferred' && outcome.delayMs).toBeUndefined();
  });
});
