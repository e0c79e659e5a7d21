import { Queue } from 'bullmq';
import request from 'supertest';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import { BackfillQueueDto } from '../../src/backfill/dto/backfill-queue.dto';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { TEST_REDIS_URL } from '../support/env';
import { metricSums } from '../support/metrics-text';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST; one session of lookback.
const NOW = '2026-11-26T04:30:00.000Z';
const SUCCEEDS = 101;
const REFUSED = 202; // the upstream answers 400: failed at once
const UNKNOWN = 303; // the upstream answers 404: skipped
const WAITS = 404; // requested while the queue is paused

/** What the route must answer for one scrape of /metrics. */
function fromMetrics(text: string): BackfillQueueDto {
  const sum = metricSums(text);
  const depth = (state: string): number => sum('backfill_queue_depth', { state });
  const outcome = (name: string): number => sum('backfill_triggers_total', { outcome: name });
  const count = sum('backfill_time_to_data_seconds_count');
  return {
    depth: {
      waiting: depth('waiting'),
      prioritized: depth('prioritized'),
      paused: depth('paused'),
      delayed: depth('delayed'),
      active: depth('active'),
      failed: depth('failed'),
    },
    jobs: { succeeded: outcome('succeeded'), failed: outcome('failed'), skipped: outcome('skipped') },
    candles_written: sum('backfill_candles_written_total'),
    time_to_data: {
      count,
      sum_seconds: sum('backfill_time_to_data_seconds_sum'),
      mean_seconds: count > 0 ? sum('backfill_time_to_data_seconds_sum') / count : null,
    },
    upstream_circuit_open: sum('backfill_upstream_circuit_open') > 0,
    subscriptions_active: sum('subscriptions_active'),
    stream_bars_written: sum('fo_bars_written_total'),
  };
}

describe('GET /api/v1/backfill/queue', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let app: TestApp;
  let queue: Queue;

  beforeAll(async () => {
    stub = await new HistoryStub({
      clock,
      calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS),
      unknownTokens: [UNKNOWN],
    }).start();
    app = await startTestApp({
      clock,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: stub.url,
        BACKFILL_LOOKBACK_SESSIONS: '1',
        BACKFILL_INTERVAL_SECONDS: '86400',
      },
    });
    queue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: app.queuePrefix,
    });
  });

  afterAll(async () => {
    await queue?.resume().catch(() => undefined);
    await queue?.close();
    await app?.close();
    await stub?.stop();
  });

  const finished = (token: number, state: string): Promise<boolean> =>
    waitFor(
      `the job of ${token} ${state}`,
      async () =>
        (
          await app.database.query(`SELECT 1 FROM backfill_jobs WHERE instrument_token = $1 AND state = $2`, [
            token,
            state,
          ])
        ).length === 1,
      { timeoutMs: 20_000, intervalMs: 50 },
    );

  it('answers the numbers /metrics exposes, as JSON', async () => {
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const event = (instrumentToken: number) => ({
      instrumentToken,
      trigger: 'event' as const,
      requestedAt: clock.now(),
    });
    stub.failures = [400];
    await requester.request([event(REFUSED)]);
    await finished(REFUSED, 'failed');
    await requester.request([event(SUCCEEDS), event(UNKNOWN)]);
    await finished(SUCCEEDS, 'succeeded');
    await finished(UNKNOWN, 'skipped');
    await queue.pause();
    await requester.request([event(WAITS)]);
    // The scheduler's cycle samples the queue depth on its way (as its 15 s timer does).
    expect((await app.app.get(BackfillScheduler).runCycle()).ran).toBe(true);

    const [answer, metrics] = await Promise.all([
      request(app.url).get('/api/v1/backfill/queue').expect(200),
      request(app.url).get('/metrics').expect(200),
    ]);
    const body = answer.body as BackfillQueueDto;
    expect(body).toEqual(fromMetrics(metrics.text));

    // And those numbers are the queue's: one job waiting in the paused queue, one failed.
    const [{ n: stored }] = await app.database.query<{ n: string }>(
      `SELECT count(*) AS n FROM candles_1m WHERE instrument_token = $1`,
      [SUCCEEDS],
    );
    expect(Number(stored)).toBeGreaterThan(0);
    expect({
      waiting: body.depth.waiting + body.depth.prioritized + body.depth.paused,
      delayed: body.depth.delayed,
      active: body.depth.active,
      failed: body.depth.failed,
      jobs: body.jobs,
      candles_written: body.candles_written,
      time_to_data_count: body.time_to_data.count,
      upstream_circuit_open: body.upstream_circuit_open,
    }).toEqual({
      waiting: 1,
      delayed: 0,
      active: 0,
      failed: 1,
      jobs: { succeeded: 1, failed: 1, skipped: 1 },
      candles_written: Number(stored),
      time_to_data_count: 1,
      upstream_circuit_open: false,
    });
    expect(body.time_to_data.mean_seconds).toBe(body.time_to_data.sum_seconds);
  });

  it('is in the OpenAPI document with its schema', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, { get?: { responses: Record<string, { content: unknown }> } }>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(JSON.stringify(document.paths['/api/v1/backfill/queue']?.get?.responses['200'])).toContain(
      '#/components/schemas/BackfillQueueDto',
    );
    expect(Object.keys(document.components.schemas.BackfillQueueDto.properties).sort()).toEqual(
      [
        'candles_written',
        'depth',
        'jobs',
        'stream_bars_written',
        'subscriptions_active',
        'time_to_data',
        'upstream_circuit_open',
      ].sort(),
    );
  });
});

describe('GET /api/v1/backfill/queue with the backfill off', () => {
  it('answers zeros, the circuit closed', async () => {
    const app = await startTestApp();
    try {
      const body = (await request(app.url).get('/api/v1/backfill/queue').expect(200))
        .body as BackfillQueueDto;
      expect(body).toEqual(fromMetrics((await request(app.url).get('/metrics').expect(200)).text));
      expect(body.depth).toEqual({ waiting: 0, prioritized: 0, paused: 0, delayed: 0, active: 0, failed: 0 });
      expect(body.jobs).toEqual({ succeeded: 0, failed: 0, skipped: 0 });
      expect(body.upstream_circuit_open).toBe(false);
      expect(body.time_to_data.mean_seconds).toBeNull();
    } finally {
      await app.close();
    }
  });
});
