import { Queue } from 'bullmq';
import { waitFor } from '../test/support/wait-for';
import Redis from 'ioredis';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { FixedClock } from '../src/contracts/market-time';
import { MetricsService } from '../src/metrics/metrics.service';
import { SubscriptionEventsService } from '../src/subscription-events/subscription-events.service';
import { SubscriptionEventsTransport } from '../src/subscription-events/subscription-events.transport';
import { SubscriptionsRepository } from '../src/subscriptions-store/subscriptions.repository';
import { startTestApp, TestApp } from '../test/support/app-harness';
import { TEST_REDIS_URL, uniqueName } from '../test/support/env';
import { percentile, rawQueueAddRate, rawRedisReceiveRate, report } from './support/limits';

// Subscription events: how many events per second the service handles end to end (received,
// validated, instrument and subscription recorded, backfill job requested and enqueued) compared
// with a bare ioredis subscriber receiving the same payloads in the same run, and the latency from
// PUBLISH to the job enqueued at a steady 1,000 events/s. The app runs in this process against the
// real Redis, PostgreSQL (a database of its own) and BullMQ queue (paused, so the worker stays out).

const THROUGHPUT_EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const LATENCY_EVENTS = Number(process.env.BENCH_LATENCY_EVENTS ?? 3000);
const LATENCY_RATE = 1000;
// Monday 3 November 2025, 11:30 IST: the backfill plans its lookback for every new instrument.
const NOW = '2025-11-03T06:00:00Z';

function payload(token: number): string {
  return JSON.stringify({
    event_type: 'subscription_created',
    instrument_token: token,
    metadata: {
      tradingsymbol: `NIFTY25NOV${token % 100_000}CE`,
      segment: 'NFO-OPT',
      requested_mode: 'FULL',
      account_id: null,
    },
    timestamp: 1762149600,
  });
}

async function processed(app: TestApp): Promise<number> {
  const metric = await app.app.get(MetricsService).subscriptionEvents.get();
  return metric.values.filter((v) => v.labels.outcome === 'processed').reduce((sum, v) => sum + v.value, 0);
}

// Polled every 2 ms: the figures are read off the moment a condition first holds.
const until = (condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> =>
  waitFor('benchmark condition', condition, { timeoutMs, intervalMs: 2 });

interface Figures {
  handled: number;
  seconds: number;
  offered: number;
  done: number[];
  recorded: number[];
}

/** Runs the burst and the paced phase against one app; `requestBackfill` says what "done" includes. */
async function measure(
  app: TestApp,
  publisher: Redis,
  tokenBase: number,
  requestBackfill: boolean,
): Promise<Figures> {
  const channel = `${app.channelPrefix}:events`;
  await until(() => app.app.get(SubscriptionEventsTransport).connectionStatus === 'connected', 10_000);
  const events = app.app.get(SubscriptionEventsService);

  // Throughput: every event published as fast as Redis takes it; done when every one is counted
  // and every backfill is requested.
  let base = await processed(app);
  const started = process.hrtime.bigint();
  for (let sent = 0; sent < THROUGHPUT_EVENTS; sent += 1000) {
    const pipeline = publisher.pipeline();
    for (let i = sent; i < Math.min(THROUGHPUT_EVENTS, sent + 1000); i++)
      pipeline.publish(channel, payload(tokenBase + i));
    await pipeline.exec();
  }
  await until(async () => (await processed(app)) - base >= THROUGHPUT_EVENTS && events.idle, 120_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [jobs] = await app.database.query<{ tokens: string }>(
    `SELECT count(DISTINCT instrument_token) AS tokens FROM backfill_jobs WHERE instrument_token >= $1 AND instrument_token < $2`,
    [tokenBase, tokenBase + THROUGHPUT_EVENTS],
  );
  const expectedJobs = requestBackfill ? THROUGHPUT_EVENTS : 0;
  if (Number(jobs.tokens) !== expectedJobs)
    throw new Error(
      `expected backfill jobs for ${expectedJobs} of ${THROUGHPUT_EVENTS} events, found ${jobs.tokens}`,
    );

  // Latency at a steady 1,000 events/s: from PUBLISH to the event applied and its jobs enqueued,
  // and to its subscription row committed.
  const publishedAt = new Map<number, bigint>();
  const done: number[] = [];
  const recorded: number[] = [];
  const repository = app.app.get(SubscriptionsRepository);
  const activate = repository.activate.bind(repository);
  repository.activate = async (...args: Parameters<SubscriptionsRepository['activate']>): Promise<void> => {
    await activate(...args);
    const now = process.hrtime.bigint();
    for (const row of args[0]) {
      const at = publishedAt.get(row.instrumentToken);
      if (at !== undefined) recorded.push(Number(now - at) / 1e6);
    }
  };
  const receive = events.receive.bind(events);
  events.receive = (message: unknown): Promise<void> => {
    const settled = receive(message);
    const token = Number(/"instrument_token":(\d+)/.exec(String(message))?.[1]);
    void settled.then(() => {
      const at = publishedAt.get(token);
      if (at !== undefined) done.push(Number(process.hrtime.bigint() - at) / 1e6);
    });
    return settled;
  };
  base = await processed(app);
  const latencyStart = Date.now();
  const pacedBase = tokenBase + THROUGHPUT_EVENTS;
  for (let i = 0; i < LATENCY_EVENTS; i++) {
    // Pace by the wall clock: event i leaves at i ms.
    const wait = latencyStart + (i * 1000) / LATENCY_RATE - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    publishedAt.set(pacedBase + i, process.hrtime.bigint());
    void publisher.publish(channel, payload(pacedBase + i));
  }
  const offered = LATENCY_EVENTS / ((Date.now() - latencyStart) / 1000);
  await until(() => done.length >= LATENCY_EVENTS, 120_000);
  done.sort((a, b) => a - b);
  recorded.sort((a, b) => a - b);
  return { handled: THROUGHPUT_EVENTS / seconds, seconds, offered, done, recorded };
}

async function main(): Promise<void> {
  // The ticker's subscription list, empty: reconciliation at boot has nothing to add or remove.
  const ticker = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[]');
  });
  await new Promise<void>((resolve) => ticker.listen(0, '127.0.0.1', resolve));
  const publisher = new Redis(TEST_REDIS_URL);
  const lines: string[] = [];
  try {
    // The limit: a bare subscriber, same Redis, same payload size, in this run.
    const raw = await rawRedisReceiveRate(
      TEST_REDIS_URL,
      `${uniqueName('raw')}:events`,
      payload(1_000_000),
      THROUGHPUT_EVENTS * 4,
    );
    const limit = { value: raw.perSecond, unit: 'msg/s', label: 'bare ioredis subscriber' };
    // The second limit of the backfill path: BullMQ adding the same number of jobs like ours, alone.
    const adds = await rawQueueAddRate(TEST_REDIS_URL, uniqueName('rawq'), THROUGHPUT_EVENTS, (i) => ({
      name: 'event',
      data: { instrumentToken: i, trigger: 'event', from: NOW, to: NOW, requestedAt: NOW },
      opts: {
        jobId: `bf-${i}-1-2`,
        priority: 1,
        attempts: 8,
        backoff: { type: 'custom' },
        removeOnComplete: { age: 60, count: 10_000 },
        removeOnFail: { age: 604_800, count: 10_000 },
      },
    }));
    const queueLimit = { value: adds.perSecond, unit: 'jobs/s', label: 'bare BullMQ addBulk' };
    for (const requestBackfill of [true, false]) {
      const app = await startTestApp({
        clock: new FixedClock(NOW),
        env: {
          SUBSCRIPTION_EVENTS_ENABLED: 'true',
          BACKFILL_ENABLED: 'true',
          BACKFILL_IMMEDIATE_ON_SUBSCRIBE: String(requestBackfill),
          BACKFILL_INTERVAL_SECONDS: '86400',
          DB_POOL_SIZE: '10',
          TICKER_SERVICE_URL: `http://127.0.0.1:${(ticker.address() as AddressInfo).port}`,
        },
      });
      const queue = new Queue('backfill', { connection: { url: TEST_REDIS_URL }, prefix: app.queuePrefix });
      try {
        await queue.pause();
        const f = await measure(app, publisher, 1_000_000, requestBackfill);
        const what = requestBackfill
          ? 'recorded + backfill job enqueued'
          : 'recorded only (no immediate backfill)';
        lines.push(
          `-- ${what}`,
          report(`events handled`, f.handled, 'events/s', limit),
          ...(requestBackfill
            ? [report(`events handled (vs the queue alone)`, f.handled, 'events/s', queueLimit)]
            : []),
          report(`burst of ${THROUGHPUT_EVENTS} events handled in`, f.seconds, 's'),
          report(`paced phase, offered (target ${LATENCY_RATE}/s)`, f.offered, 'events/s'),
          report(
            `publish -> ${requestBackfill ? 'job enqueued' : 'event applied'} p50`,
            percentile(f.done, 50),
            'ms',
          ),
          report(
            `publish -> ${requestBackfill ? 'job enqueued' : 'event applied'} p99`,
            percentile(f.done, 99),
            'ms',
          ),
          report('publish -> subscription row p50', percentile(f.recorded, 50), 'ms'),
          report('publish -> subscription row p99', percentile(f.recorded, 99), 'ms'),
        );
      } finally {
        await queue.close();
        await app.close();
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    publisher.disconnect();
    await new Promise<void>((resolve) => ticker.close(() => resolve()));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
