import Redis from 'ioredis';
import { waitFor } from '../test/support/wait-for';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FixedClock, MINUTE_MS } from '../src/contracts/market-time';
import { OptionTick } from '../src/contracts/ticker.contracts';
import { FoStreamFlusher } from '../src/fo-stream/fo-stream.flusher';
import { MetricsService } from '../src/metrics/metrics.service';
import { startTestApp } from '../test/support/app-harness';
import { createTestDatabase } from '../test/support/database';
import { TEST_REDIS_URL, uniqueName } from '../test/support/env';
import { freePort } from '../test/support/service-process';
import { percentile, rawRedisReceiveRate, report } from './support/limits';

// Ticks into bars: how fast the consumer folds option ticks compared with a bare ioredis subscriber
// receiving the same payloads in the same run, the lag from a minute's end to its bars committed,
// and the process RSS with 4,500 instruments ticking. The app runs in this process (real Redis and
// PostgreSQL, a database of its own); the clock is a FixedClock moved minute by minute.

const INSTRUMENTS = Number(process.env.BENCH_INSTRUMENTS ?? 4500);
const THROUGHPUT_TICKS = Number(process.env.BENCH_TICKS ?? 200_000);
const LAG_MINUTES = Number(process.env.BENCH_LAG_MINUTES ?? 8);
const TICKS_PER_INSTRUMENT_MINUTE = 4;
const GRACE_MS = 2000;
// Monday 3 November 2025, 09:30 IST.
const START = Date.parse('2025-11-03T04:00:00Z');
const TOKEN_BASE = 20_000_000;

interface InstrumentState {
  token: number;
  strike: number;
  type: 'CE' | 'PE';
  volume: number;
}

const instruments: InstrumentState[] = Array.from({ length: INSTRUMENTS }, (_, i) => ({
  token: TOKEN_BASE + i,
  strike: 20_000 + Math.floor(i / 2) * 50,
  type: i % 2 === 0 ? 'CE' : 'PE',
  volume: 0,
}));

function tickOf(instrument: InstrumentState, atMs: number, j: number): string {
  instrument.volume += 75 * (1 + (j % 3));
  const tick: OptionTick = {
    symbol: 'NIFTY',
    token: instrument.token,
    tradingsymbol: `NIFTY25NOV${instrument.strike}${instrument.type}`,
    segment: 'NFO-OPT',
    exchange: 'NFO',
    strike: instrument.strike,
    expiry: '2025-11-25',
    type: instrument.type,
    lot_size: 75,
    tick_size: 0.05,
    price: Math.round((100 + (instrument.token % 97) + j * 0.35) * 20) / 20,
    volume: instrument.volume,
    oi: 1_000_000 + j * 75,
    iv: 0.14 + j * 0.001,
    delta: j % 5 === 0 ? 0 : 0.5,
    gamma: 0.0011,
    theta: -12.3,
    vega: 9.8,
    ts: Math.floor(atMs / 1000),
    is_mock: false,
    depth: {
      buy: [
        { quantity: 75, price: 99.95, orders: 1 },
        { quantity: 150, price: 99.9, orders: 2 },
      ],
      sell: [{ quantity: 75, price: 100.05, orders: 1 }],
    },
    total_buy_quantity: 1500,
    total_sell_quantity: 900,
  };
  return JSON.stringify(tick);
}

/** Every tick of one minute: TICKS_PER_INSTRUMENT_MINUTE per instrument, interleaved by time. */
function minuteTicks(minuteMs: number): string[] {
  const ticks: string[] = [];
  for (let j = 0; j < TICKS_PER_INSTRUMENT_MINUTE; j++) {
    const atMs = minuteMs + Math.floor(((j + 0.5) * MINUTE_MS) / TICKS_PER_INSTRUMENT_MINUTE);
    for (const instrument of instruments) ticks.push(tickOf(instrument, atMs, j));
  }
  return ticks;
}

async function publishAll(publisher: Redis, channel: string, ticks: string[]): Promise<void> {
  for (let sent = 0; sent < ticks.length; sent += 1000) {
    const pipeline = publisher.pipeline();
    for (let i = sent; i < Math.min(ticks.length, sent + 1000); i++) pipeline.publish(channel, ticks[i]);
    await pipeline.exec();
  }
}

async function received(metrics: MetricsService): Promise<number> {
  return (await metrics.foTicksReceived.get()).values.reduce((sum, v) => sum + v.value, 0);
}

// Polled every 5 ms: the figures are read off the moment a condition first holds.
const until = (
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 120_000,
): Promise<boolean> => waitFor(what, probe, { timeoutMs, intervalMs: 5 });

async function main(): Promise<void> {
  const clock = new FixedClock(new Date(START));
  const app = await startTestApp({
    clock,
    env: { FO_STREAM_ENABLED: 'true', FO_STREAM_FLUSH_GRACE_MS: String(GRACE_MS), DB_POOL_SIZE: '5' },
  });
  const publisher = new Redis(TEST_REDIS_URL);
  let closed = false;
  try {
    const metrics = app.app.get(MetricsService);
    const flusher = app.app.get(FoStreamFlusher);
    const channel = `${app.channelPrefix}:options`;
    const lines: string[] = [];

    // 1. Throughput: the same payloads, first to a bare subscriber, then to the consumer.
    const minutesNeeded = Math.ceil(THROUGHPUT_TICKS / (INSTRUMENTS * TICKS_PER_INSTRUMENT_MINUTE));
    const byMinute: string[][] = [];
    let remaining = THROUGHPUT_TICKS;
    for (let m = 0; m < minutesNeeded; m++) {
      const ticks = minuteTicks(START + m * MINUTE_MS);
      ticks.length = Math.min(ticks.length, remaining);
      remaining -= ticks.length;
      byMinute.push(ticks);
    }
    const total = THROUGHPUT_TICKS - remaining;
    const raw = await rawRedisReceiveRate(TEST_REDIS_URL, `${app.channelPrefix}:raw`, byMinute[0][0], total);
    const before = await received(metrics);
    const started = process.hrtime.bigint();
    // The clock follows the ticks minute by minute: a minute that closed more than the late-tick
    // retention ago refuses its ticks ('too_late'), so the consumer may run at most two minutes behind.
    let published = 0;
    for (let m = 0; m < minutesNeeded; m++) {
      const caughtUp = published - (byMinute[m - 1]?.length ?? 0);
      await until(`minute ${m - 2} folded`, async () => (await received(metrics)) - before >= caughtUp);
      clock.set(new Date(START + m * MINUTE_MS + 59_000));
      await publishAll(publisher, channel, byMinute[m]);
      published += byMinute[m].length;
    }
    await until('every tick folded', async () => (await received(metrics)) - before >= total);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const folded = total / seconds;
    byMinute.length = 0;
    const tooLate = (await metrics.foTicksRejected.get()).values.find((v) => v.labels.reason === 'too_late');
    if (tooLate?.value) throw new Error(`${tooLate.value} throughput ticks refused as too late`);
    lines.push(
      report('ticks folded into bars', folded, 'ticks/s', {
        value: raw.perSecond,
        unit: 'msg/s',
        label: 'bare ioredis subscriber',
      }),
    );
    // Write the throughput minutes out before measuring the lag.
    clock.set(new Date(START + (minutesNeeded + 1) * MINUTE_MS + GRACE_MS));
    await until(
      'throughput bars written',
      () => flusher.backlog === 0 && app.app.get(FoStreamFlusher).backlog === 0,
    );

    // 2. Commit lag: minute by minute, the next minute's ticks flowing while the last one is written.
    const lags: number[] = [];
    let minuteEndReal = 0;
    let currentMinute = 0;
    flusher.onCommitted((bars) => {
      const now = performance.now();
      for (const bar of bars)
        if (bar.time.getTime() === currentMinute) lags.push(GRACE_MS + (now - minuteEndReal));
    });
    const lagStart = START + (minutesNeeded + 2) * MINUTE_MS;
    let next = minuteTicks(lagStart);
    let rssPeak = 0;
    for (let m = 0; m < LAG_MINUTES; m++) {
      const minute = lagStart + m * MINUTE_MS;
      clock.set(new Date(minute + 59_000));
      const target = (await received(metrics)) + next.length;
      await publishAll(publisher, channel, next);
      await until(`minute ${m} received`, async () => (await received(metrics)) >= target);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      const expectedLags = lags.length + INSTRUMENTS;
      // The minute ends (its grace included): from here the flusher's own timer has to notice it.
      currentMinute = minute;
      clock.set(new Date(minute + MINUTE_MS + GRACE_MS));
      minuteEndReal = performance.now();
      next = minuteTicks(minute + MINUTE_MS);
      const load = publishAll(publisher, channel, next.slice(0, next.length / 2));
      await until(`minute ${m} committed`, () => lags.length >= expectedLags);
      await load;
      next = next.slice(next.length / 2);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    lags.sort((a, b) => a - b);
    lines.push(
      report('commit lag p50 (minute end to bar committed)', percentile(lags, 50) / 1000, 's', {
        value: 3,
        unit: 's',
        label: 'target',
      }),
    );
    lines.push(
      report('commit lag p99 (minute end to bar committed)', percentile(lags, 99) / 1000, 's', {
        value: 3,
        unit: 's',
        label: 'target',
      }),
    );
    lines.push(report('RSS peak of this process (app + bench + ts-node)', rssPeak / 1024 / 1024, 'MB'));
    lines.push(report('bars committed in the lag run', lags.length, 'bars'));
    publisher.disconnect();
    await app.close();
    closed = true;

    // 3. Memory of the service on its own: the real entry point in a child process, system clock,
    // every instrument ticking once a second across a minute boundary.
    const service = await serviceUnderSteadyLoad();
    lines.push(
      report('service RSS idle (after boot)', service.idleMb, 'MB'),
      report(`service RSS peak, ${INSTRUMENTS} instruments ticking`, service.peakMb, 'MB', {
        value: 300,
        unit: 'MB',
        label: 'target',
      }),
      report('service fo_flush_lag_seconds p99 (bucket bound)', service.lagP99Bound, 's', {
        value: 3,
        unit: 's',
        label: 'target',
      }),
      report('service ticks folded at 1 tick/s/instrument', service.ticks, 'ticks'),
    );
    process.stdout.write(
      `ticks: ${INSTRUMENTS} instruments, ${THROUGHPUT_TICKS} ticks for throughput, ${LAG_MINUTES} minutes for lag, grace ${GRACE_MS} ms\n` +
        lines.join('\n') +
        '\n',
    );
  } finally {
    if (!closed) {
      publisher.disconnect();
      await app.close();
    }
  }
}

function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}

async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Upper bound of the bucket holding the 99th percentile of a prom-client histogram. */
function histogramP99Bound(text: string, name: string): number {
  const buckets = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}_bucket{`))
    .map((l) => ({ le: /le="([^"]+)"/.exec(l)![1], count: Number(l.split(' ').pop()) }));
  const total = buckets.at(-1)?.count ?? 0;
  const found = buckets.find((b) => b.count >= total * 0.99);
  return found ? (found.le === '+Inf' ? Infinity : Number(found.le)) : NaN;
}

async function serviceUnderSteadyLoad(): Promise<{
  idleMb: number;
  peakMb: number;
  lagP99Bound: number;
  ticks: number;
}> {
  const database = await createTestDatabase('mds_bench');
  const prefix = `${uniqueName('bench')}:nifty`;
  const port = await freePort();
  // transpile-only: the type checker would add its own few hundred MB to the service's RSS.
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
    cwd: resolve(__dirname, '..'),
    env: {
      PATH: process.env.PATH ?? '',
      APP_ENV: 'dev',
      PORT: String(port),
      DATABASE_URL: database.url,
      DB_MIGRATE_ON_BOOT: 'true',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_CHANNEL_PREFIX: prefix,
      QUEUE_PREFIX: uniqueName('benchq'),
      SUBSCRIPTION_EVENTS_ENABLED: 'false',
      BACKFILL_ENABLED: 'false',
      FO_STREAM_ENABLED: 'true',
      // Ticks carry the wall clock, which need not be inside a session while this runs.
      FO_STREAM_SESSION_GATE: 'false',
      FO_STREAM_FLUSH_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const publisher = new Redis(TEST_REDIS_URL);
  try {
    await until(
      'service up',
      async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.ok === true,
      60_000,
    );
    await until('service subscribed', async () => {
      const counts = (await publisher.pubsub('NUMSUB', `${prefix}:options`)) as (string | number)[];
      return Number(counts[1]) >= 1;
    });
    const idleMb = procStatusMb(child.pid!, 'VmRSS');
    const started = Date.now();
    let second = 0;
    let ticks = 0;
    // One tick per instrument per second until a minute boundary has passed and its bars are written
    // (at least 30 s of ticking).
    for (;;) {
      const nowMs = Date.now();
      const batch = instruments.map((instrument) => tickOf(instrument, nowMs, second));
      await publishAll(publisher, `${prefix}:options`, batch);
      ticks += batch.length;
      second++;
      const text = await metricsText(url);
      if (Date.now() - started > 30_000 && metricValue(text, 'fo_bars_written_total') >= INSTRUMENTS) break;
      if (Date.now() - started > 150_000) throw new Error('no minute was written within 150 s');
      await new Promise((done) => setTimeout(done, Math.max(0, started + second * 1000 - Date.now())));
    }
    const text = await metricsText(url);
    return {
      idleMb,
      peakMb: procStatusMb(child.pid!, 'VmHWM'),
      lagP99Bound: histogramP99Bound(text, 'fo_flush_lag_seconds'),
      ticks,
    };
  } finally {
    publisher.disconnect();
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
    await database.drop();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
