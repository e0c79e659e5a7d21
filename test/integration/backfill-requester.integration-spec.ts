import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BackfillProcessor } from '../../src/backfill/backfill.processor';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { FixedClock } from '../../src/contracts/market-time';
import { SubscriptionsService } from '../../src/subscription-events/subscriptions.service';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL } from '../support/env';
import { testRedis } from '../support/redis';

// Thursday 2026-11-26, 11:00 IST: inside a session, the day before is a trading day.
const NOW = '2026-11-26T05:30:00Z';

describe('backfill requester (queue, deterministic ids)', () => {
  let testApp: TestApp;
  let queue: Queue;

  beforeAll(async () => {
    // The queue is paused below, so jobs are inspected while waiting and the upstream is never asked.
    testApp = await startTestApp({
      clock: new FixedClock(NOW),
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: 'http://127.0.0.1:9',
        BACKFILL_INTERVAL_SECONDS: '86400',
      },
    });
    queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: testApp.queuePrefix,
    });
    await queue.pause();
  });

  afterAll(async () => {
    await queue?.close();
    await testApp?.close();
  });

  it('enqueues the lookback once however often it is requested, and cancels pending work', async () => {
    const requester = testApp.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const request = { instrumentToken: 13660418, trigger: 'event' as const, requestedAt: new Date(NOW) };
    // From three replicas at once, and twice in one batch: one job.
    const results = (
      await Promise.all([requester.request([request]), requester.request([request, request])])
    ).flat();
    expect(results[0].jobIds).toHaveLength(1);
    expect(results[1].jobIds).toEqual(results[0].jobIds);
    expect(results[2].jobIds).toEqual(results[0].jobIds);
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'paused']);
    expect(jobs.map((job) => job.id)).toEqual(results[0].jobIds);
    // Five sessions back from Thursday 26th (the 24th is a holiday): 19th, 20th, 23rd, 25th, 26th.
    expect(jobs[0].data.from).toBe('2026-11-19T03:45:00.000Z');
    expect(jobs[0].data.to).toBe('2026-11-26T05:31:00.000Z');

    // A sweep waits behind subscriptions: BullMQ takes lower priority numbers first.
    const [sweep, reconcile, gap] = await requester.request([
      {
        instrumentToken: 42,
        trigger: 'sweep',
        requestedAt: new Date(NOW),
        from: new Date('2026-11-25T03:45:00Z'),
        to: new Date('2026-11-25T04:45:00Z'),
      },
      { instrumentToken: 43, trigger: 'reconcile', requestedAt: new Date(NOW) },
      {
        instrumentToken: 44,
        trigger: 'stream_gap',
        requestedAt: new Date(NOW),
        from: new Date('2026-11-26T04:50:00Z'),
        to: new Date(NOW),
      },
    ]);
    const priorities = await Promise.all(
      [results[0].jobIds[0], reconcile.jobIds[0], gap.jobIds[0], sweep.jobIds[0]].map(async (id) => {
        const job = await queue.getJob(id);
        return [job?.name, job?.opts.priority];
      }),
    );
    // Each job is named after its trigger; a stream gap waits behind subscriptions, before the sweep.
    expect(priorities).toEqual([
      ['event', 1],
      ['reconcile', 2],
      ['stream_gap', 3],
      ['sweep', 4],
    ]);
    expect(sweep.jobIds).toEqual([
      `bf-42-${Date.parse('2026-11-25T03:45:00Z')}-${Date.parse('2026-11-25T04:45:00Z')}`,
    ]);
    expect(await requester.cancelPending([42])).toBe(1);
    expect(await requester.cancelPending([43, 44])).toBe(2);

    expect(await requester.cancelPending([13660418])).toBe(1);
    expect(await queue.getJobs(['waiting', 'prioritized', 'paused'])).toHaveLength(0);
    const rows = await testApp.database.query<{ state: string }>(`SELECT state FROM backfill_jobs`);
    expect(rows).toEqual(Array.from({ length: 4 }, () => ({ state: 'cancelled' })));
  });

  it('drops the waiting jobs of 1,000 unsubscribed instruments in one pass, by job id', async () => {
    const subscriptions = testApp.app.get(SubscriptionsService);
    const at = new Date(NOW);
    const removed = Array.from({ length: 1000 }, (_, i) => 5_000_000 + i);
    const kept = [6_000_001, 6_000_002];
    const subscribed = await subscriptions.subscribe(
      [...removed, ...kept].map((instrumentToken) => ({ instrumentToken, requestedAt: at })),
      'reconcile',
      at,
    );
    await subscribed.backfill;
    expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'paused')).toBe(1002);

    const queueReads = jest.spyOn(testApp.app.get<Queue>(getQueueToken(BACKFILL_QUEUE)), 'getJobs');
    try {
      const unsubscribed = await subscriptions.unsubscribe(removed, at, 'reconcile');
      expect(unsubscribed.known).toHaveLength(1000);
      await unsubscribed.backfill;
      // No listing of the queue, let alone one per instrument: the ids come from the job records.
      expect(queueReads).not.toHaveBeenCalled();
    } finally {
      queueReads.mockRestore();
    }
    const left = await queue.getJobs(['waiting', 'prioritized', 'paused']);
    expect(left.map((job) => job.data.instrumentToken).sort()).toEqual(kept);
    const states = await testApp.database.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM backfill_jobs WHERE instrument_token = ANY($1::bigint[])
        GROUP BY state ORDER BY state`,
      [[...removed, ...kept]],
    );
    expect(states).toEqual([
      { state: 'cancelled', n: 1000 },
      { state: 'queued', n: 2 },
    ]);
  });
});

describe('backfill requester with BACKFILL_ENABLED=false', () => {
  it('answers every request without a queue or a worker', async () => {
    const testApp = await startTestApp({ clock: new FixedClock(NOW) });
    try {
      const requester = testApp.app.get<BackfillRequester>(BACKFILL_REQUESTER);
      expect(
        await requester.request([{ instrumentToken: 1, trigger: 'event', requestedAt: new Date(NOW) }]),
      ).toEqual([{ jobIds: [], skipped: 'backfill disabled' }]);
      expect(await requester.cancelPending([1])).toBe(0);
      expect(() => testApp.app.get(BackfillProcessor)).toThrow();
      const redis = testRedis();
      try {
        expect(await redis.keys(`${testApp.queuePrefix}*`)).toEqual([]);
      } finally {
        redis.disconnect();
      }
    } finally {
      await testApp.close();
    }
  });
});
