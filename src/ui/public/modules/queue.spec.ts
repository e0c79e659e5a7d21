import { QueueSnapshot } from './api.js';
import { queueRows } from './queue.js';

const snapshot: QueueSnapshot = {
  depth: { waiting: 1, prioritized: 2, paused: 3, delayed: 4, active: 5, failed: 6 },
  jobs: { succeeded: 7, failed: 8, skipped: 9 },
  candles_written: 10,
  time_to_data: { count: 3, sum_seconds: 4, mean_seconds: 4 / 3 },
  upstream_circuit_open: true,
  subscriptions_active: 11,
  stream_bars_written: 12,
};

describe('the queue panel', () => {
  it("shows the route's numbers, every waiting job as waiting", () => {
    expect(queueRows(snapshot, true)).toEqual([
      ['enabled', 'backfill', 'enabled'],
      ['waiting', 'waiting', '6'],
      ['delayed', 'delayed (retry, rate limit)', '4'],
      ['active', 'active', '5'],
      ['failed', 'failed (kept)', '6'],
      ['succeeded', 'jobs succeeded', '7'],
      ['triggers-failed', 'jobs failed', '8'],
      ['skipped', 'requests skipped', '9'],
      ['candles-written', 'candles written', '10'],
      ['time-to-data', 'mean time to data (3)', '1.33 s'],
      ['circuit', 'upstream circuit', 'open'],
      ['subscriptions-active', 'active subscriptions', '11'],
      ['stream-bars', 'stream bars written', '12'],
    ]);
  });

  it('says so when nothing measured a time to data and the backfill is off', () => {
    const rows = new Map(
      queueRows({ ...snapshot, time_to_data: { count: 0, sum_seconds: 0, mean_seconds: null } }, false).map(
        ([key, , value]) => [key, value],
      ),
    );
    expect(rows.get('time-to-data')).toBe('–');
    expect(rows.get('enabled')).toBe('disabled');
  });
});
