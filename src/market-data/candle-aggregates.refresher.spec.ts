import { waitFor } from '../../test/support/wait-for';
import { FixedClock } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { MetricsService } from '../metrics/metrics.service';
import { CandleAggregatesRepository } from './candle-aggregates.repository';
import {
  addWindow,
  CandleAggregatesRefresher,
  finishedBuckets,
  takeNewestSlice,
  Window,
} from './candle-aggregates.refresher';

const MIN = 60_000;
const DAY = 86_400_000;
const T = Date.parse('2025-07-29T03:45:00Z');
const w = (fromMin: number, toMin: number): Window => ({ from: T + fromMin * MIN, to: T + toMin * MIN });

describe('aggregate refresh windows', () => {
  it('widens windows to 15-minute boundaries and merges overlapping or touching ones', () => {
    let pending = addWindow([], w(3, 20));
    expect(pending).toEqual([w(0, 30)]);
    pending = addWindow(pending, w(30, 31));
    expect(pending).toEqual([w(0, 45)]);
    pending = addWindow(pending, w(100, 101));
    pending = addWindow(pending, w(-50, -40));
    expect(pending).toEqual([w(-60, -30), w(0, 45), w(90, 105)]);
    expect(addWindow(pending, w(-40, 95))).toEqual([w(-60, 105)]);
    expect(addWindow([], w(5, 5))).toEqual([]);
  });

  it('keeps at most `max` windows by merging the closest ones', () => {
    let pending: Window[] = [];
    for (const start of [0, 60, 135, 300, 990]) pending = addWindow(pending, w(start, start + 15), 3);
    expect(pending).toEqual([w(0, 150), w(300, 315), w(990, 1005)]);
  });

  it('takes the newest week first and leaves the rest', () => {
    const pending = [w(0, 15), { from: T, to: T + 20 * DAY }];
    const first = takeNewestSlice(pending, 7 * DAY)!;
    expect(first.slice).toEqual({ from: T + 13 * DAY, to: T + 20 * DAY });
    expect(first.rest).toEqual([w(0, 15), { from: T, to: T + 13 * DAY }]);
    const small = takeNewestSlice([w(0, 15)], 7 * DAY)!;
    expect(small).toEqual({ slice: w(0, 15), rest: [] });
    expect(takeNewestSlice([])).toBeUndefined();
  });

  it('refreshes finished buckets only, like the refresh policy', () => {
    const now = T + 62 * MIN;
    // 5-minute buckets: the one in progress (60-65) and the one before it (ended 2 min ago) wait.
    expect(finishedBuckets(w(0, 90), 5 * MIN, now)).toEqual(w(0, 55));
    expect(finishedBuckets(w(0, 90), 15 * MIN, now)).toEqual(w(0, 45));
    expect(finishedBuckets(w(50, 65), 15 * MIN, now)).toBeUndefined();
    expect(finishedBuckets(w(2, 4), 5 * MIN, now)).toEqual(w(0, 5));
  });
});

describe('CandleAggregatesRefresher', () => {
  interface Call {
    aggregate: string;
    from: string;
    to: string;
    signal?: AbortSignal;
  }

  /** Refresh calls recorded; each waits for the test to settle it. */
  class FakeRepository {
    calls: Call[] = [];
    private settlers: { resolve: () => void; reject: (error: Error) => void }[] = [];
    refresh(
      aggregate: string,
      from: Date,
      to: Date,
      _timeoutMs: number,
      signal?: AbortSignal,
    ): Promise<void> {
      this.calls.push({ aggregate, from: from.toISOString(), to: to.toISOString(), signal });
      return new Promise((resolve, reject) => this.settlers.push({ resolve, reject }));
    }
    oldestMinute(): Promise<Date | null> {
      return Promise.resolve(null);
    }
    async settle(outcome?: Error): Promise<void> {
      await waitForCalls(this, this.settlers.length > 0 ? this.calls.length : this.calls.length + 1);
      const settler = this.settlers.shift()!;
      if (outcome) settler.reject(outcome);
      else settler.resolve();
    }
  }

  async function waitForCalls(repository: FakeRepository, count: number): Promise<void> {
    await waitFor(`${count} refresh calls`, () => repository.calls.length >= count, {
      timeoutMs: 2000,
      intervalMs: 1,
    });
  }

  const NOW = new Date('2025-07-29T10:00:00Z');
  function refresher(aggregates = ['fo_candles_15m', 'fo_candles_5m']) {
    const repository = new FakeRepository();
    const metrics = new MetricsService();
    const database = { storageMode: { timescaledb: aggregates.length > 0, aggregates } } as DatabaseService;
    const subject = new CandleAggregatesRefresher(
      repository as unknown as CandleAggregatesRepository,
      database,
      metrics,
      new FixedClock(NOW),
    );
    subject.conflictDelayMs = 1;
    const count = async (outcome: string): Promise<number> =>
      (await metrics.aggregateRefreshes.get()).values
        .filter((v) => v.labels.outcome === outcome)
        .reduce((sum, v) => sum + v.value, 0);
    return { subject, repository, count };
  }

  const at = (hhmm: string): Date => new Date(`2025-07-29T${hhmm}:00Z`);

  it('refreshes both aggregates over a window, and merges the windows queued meanwhile into one', async () => {
    const { subject, repository, count } = refresher();
    subject.schedule(at('03:47'), at('04:02'));
    await repository.settle();
    await repository.settle();
    expect(repository.calls.map(({ aggregate, from, to }) => [aggregate, from, to])).toEqual([
      ['fo_candles_5m', '2025-07-29T03:45:00.000Z', '2025-07-29T04:15:00.000Z'],
      ['fo_candles_15m', '2025-07-29T03:45:00.000Z', '2025-07-29T04:15:00.000Z'],
    ]);
    // While one refresh runs, three more windows arrive: one more refresh per aggregate, merged.
    subject.schedule(at('05:00'), at('05:10'));
    await waitForCalls(repository, 3);
    for (const [from, to] of [
      ['05:05', '05:20'],
      ['05:15', '05:40'],
      ['05:30', '05:31'],
    ])
      subject.schedule(at(from), at(to));
    for (let i = 0; i < 4; i++) await repository.settle();
    await subject.idle();
    expect(
      repository.calls
        .slice(2)
        .map(({ aggregate, from, to }) => [aggregate, from.slice(11, 16), to.slice(11, 16)]),
    ).toEqual([
      ['fo_candles_5m', '05:00', '05:15'],
      ['fo_candles_15m', '05:00', '05:15'],
      // Written again after the first refresh began: those minutes are refreshed once more.
      ['fo_candles_5m', '05:00', '05:45'],
      ['fo_candles_15m', '05:00', '05:45'],
    ]);
    expect(await count('refreshed')).toBe(6);
  });

  it('tries again after a concurrent refresh, and counts other failures without throwing', async () => {
    const { subject, repository, count } = refresher(['fo_candles_5m']);
    subject.schedule(at('03:45'), at('04:00'));
    await repository.settle(Object.assign(new Error('due to a concurrent refresh'), { code: '55P03' }));
    await repository.settle();
    subject.schedule(at('06:00'), at('06:15'));
    await repository.settle(new Error('statement timeout'));
    subject.schedule(at('07:00'), at('07:15'));
    await repository.settle();
    await subject.idle();
    expect(repository.calls.map((c) => c.from.slice(11, 16))).toEqual(['03:45', '03:45', '06:00', '07:00']);
    expect([await count('retried'), await count('refreshed'), await count('failed')]).toEqual([1, 2, 1]);
  });

  it('does nothing without continuous aggregates', async () => {
    const { subject, repository } = refresher([]);
    subject.schedule(at('03:45'), at('04:00'));
    await subject.idle();
    expect(repository.calls).toEqual([]);
  });

  it('cancels the refresh in flight at shutdown and takes no more windows', async () => {
    const { subject, repository } = refresher(['fo_candles_5m']);
    subject.schedule(at('03:45'), at('04:00'));
    await waitForCalls(repository, 1);
    subject.schedule(at('06:00'), at('06:15'));
    const stopped = subject.beforeApplicationShutdown();
    expect(repository.calls[0].signal?.aborted).toBe(true);
    await repository.settle(new Error('canceling statement due to user request'));
    await stopped;
    subject.schedule(at('07:00'), at('07:15'));
    await subject.idle();
    expect(repository.calls).toHaveLength(1);
  });
});
