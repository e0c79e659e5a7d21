import { Agent, get } from 'node:http';
import { DataSource } from 'typeorm';
import { BackfillQueryRepository } from '../src/backfill/backfill-query.repository';
import { dataSourceOptions, runMigrations } from '../src/database/data-source';
import { CandlesQueryRepository } from '../src/market-data/candles-query.repository';
import { OptionChainRepository } from '../src/market-data/option-chain.repository';
import { SubscriptionsQueryRepository } from '../src/subscription-events/subscriptions-query.repository';
import { UdfRepository } from '../src/udf/udf.repository';
import { istDateOf } from '../src/contracts/market-time';
import { createTestDatabase } from '../test/support/database';
import { TEST_REDIS_URL, uniqueName } from '../test/support/env';
import { deleteKeys, testRedis } from '../test/support/redis';
import { startServiceProcess } from '../test/support/service-process';
import { percentile, report } from './support/limits';
import { startSimulatorProcess, subscriptionTokens } from './support/simulator-process';

// A read storm at one replica while live ticks flow and a backfill runs: 2,000 concurrent clients in
// a closed loop over a mix of 30-day 1-minute candles, UDF history, coverage, the option chain and the
// subscriptions list, each honouring Retry-After when refused. The service runs as its own process
// (src/main.ts, default pools and admission settings) with the simulator (its own process too) as
// ticker: every subscribed instrument ticks once a second and the burst of subscriptions keeps the
// backfill busy at the upstream's rate for the whole run.
//
// Printed: answers by status; reads answered per second beside the same SELECTs run bare (the read
// repositories' statements, no HTTP, no Nest) by 2,000 callers over a pool of the same size in the
// same run; p50/p99 of the 200s; the stream's commit lag (fo_flush_lag_seconds) and the backfill's
// upstream requests per second during the storm beside a phase without it. BENCH_DEBUG=1 also prints
// the service's backfill and API metrics, the job records by state and the end of its log.

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 2000);
const PHASE_S = Number(process.env.BENCH_PHASE_SECONDS ?? 75);
const BARE_S = Number(process.env.BENCH_BARE_SECONDS ?? 20);
const RATE = Number(process.env.BENCH_RATE ?? 5);
const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 1000);
const READ_POOL_SIZE = 10; // the service's DB_READ_POOL_SIZE default
const GRACE_MS = 2000; // FO_STREAM_FLUSH_GRACE_MS default
// Thursday 2025-11-06 10:00 IST (the 5th is a holiday); both clocks run on from there at real speed.
const START = '2025-11-06T04:30:00.000Z';
const STRIKES_EACH_SIDE = 50;
/** Instruments with 30 days of minutes each, stored before the start: the heavy reads. */
const READ_TOKENS = Array.from({ length: 20 }, (_, i) => 9_100_001 + i);
const DAY_MS = 86_400_000;
const RAMP_MS = 10_000;
const BARE_CALLERS = 4 * READ_POOL_SIZE;

type Kind = 'candles' | 'udf' | 'coverage' | 'chain' | 'subscriptions';
const KINDS: Kind[] = ['candles', 'udf', 'coverage', 'chain', 'subscriptions'];

interface Answer {
  status: number;
  retryAfter?: string;
  ms: number;
  /** Why no answer came (status 0): the socket's error code. */
  error?: string;
  /** Whether the request went out on a connection opened for it. */
  connected?: boolean;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

/** Prometheus text: the sum of every series of `name` whose labels contain `labels`. */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

interface Snapshot {
  at: number;
  lagSum: number;
  lagCount: number;
  lagBuckets: Map<string, number>;
  upstream: number;
}

async function snapshot(url: string): Promise<Snapshot> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const lagBuckets = new Map<string, number>();
  for (const match of text.matchAll(/^fo_flush_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm))
    lagBuckets.set(match[1], Number(match[2]));
  return {
    at: Date.now(),
    lagSum: metric(text, 'fo_flush_lag_seconds_sum'),
    lagCount: metric(text, 'fo_flush_lag_seconds_count'),
    lagBuckets,
    upstream: metric(text, 'backfill_upstream_requests_total'),
  };
}

interface PhaseFigures {
  bars: number;
  lagMeanS: number;
  /** The smallest histogram bound that 99% of the phase's bars committed within. */
  lagP99BoundS: number;
  upstreamPerS: number;
}

function between(before: Snapshot, after: Snapshot): PhaseFigures {
  const bars = after.lagCount - before.lagCount;
  let bound = Number.POSITIVE_INFINITY;
  for (const [le, count] of after.lagBuckets) {
    const within = count - (before.lagBuckets.get(le) ?? 0);
    if (bars > 0 && within >= 0.99 * bars) bound = Math.min(bound, le === '+Inf' ? Infinity : Number(le));
  }
  return {
    bars,
    lagMeanS: bars > 0 ? (after.lagSum - before.lagSum) / bars : NaN,
    lagP99BoundS: bound,
    upstreamPerS: (after.upstream - before.upstream) / ((after.at - before.at) / 1000),
  };
}

/** One GET, body drained and dropped: status, Retry-After, time to the last byte. */
function request(agent: Agent, url: string): Promise<Answer> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = get(url, { agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'],
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          connected: !req.reusedSocket,
        }),
      );
      res.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ status: 0, ms: 0, error: error.code ?? error.message }),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        status: 0,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        error: error.code ?? error.message,
      }),
    );
  });
}

async function main(): Promise<void> {
  const db = await createTestDatabase('mds_bench');
  const prefix = `${uniqueName('bench')}:nifty`;
  const queuePrefix = uniqueName('bq');
  const offsetS = Math.round((Date.parse(START) - Date.now()) / 1000);
  const marketNow = (): number => Date.now() + offsetS * 1000;
  let simulator: Awaited<ReturnType<typeof startSimulatorProcess>> | undefined;
  let service: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  let bare: DataSource | undefined;
  try {
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    await db.query(
      `INSERT INTO instruments (instrument_token, tradingsymbol, name, segment, exchange, instrument_type)
       SELECT t, 'BENCHREAD' || t, 'NIFTY', 'INDICES', 'NSE', 'INDEX' FROM unnest($1::bigint[]) AS t`,
      [READ_TOKENS],
    );
    await db.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
       SELECT t, d + m * interval '1 minute', 100, 101, 99, 100.5, 10, 1000, 'history'
         FROM unnest($1::bigint[]) AS t,
              generate_series($2::timestamptz - interval '31 days', $2::timestamptz - interval '1 day', interval '1 day') AS d,
              generate_series(0, 374) AS m`,
      [READ_TOKENS, '2025-11-06T03:45:00Z'],
    );
    await db.query('VACUUM ANALYZE');

    const tokens = await subscriptionTokens(SUBSCRIPTIONS, STRIKES_EACH_SIDE);
    simulator = await startSimulatorProcess({
      start: new Date(marketNow()).toISOString(),
      historyRatePerSec: RATE * 2,
      strikesEachSide: STRIKES_EACH_SIDE,
      env: {
        REDIS_URL: TEST_REDIS_URL,
        REDIS_CHANNEL_PREFIX: prefix,
        SIM_LIVE_TICKS: 'true',
        SIM_EVENTS_ENABLED: 'true',
        SIM_SUBSCRIPTIONS_RATE_PER_MIN: '0',
      },
    });
    service = await startServiceProcess({
      TS_NODE_TRANSPILE_ONLY: 'true',
      APP_ENV: 'dev',
      DATABASE_URL: db.url,
      DB_MIGRATE_ON_BOOT: 'true',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_CHANNEL_PREFIX: prefix,
      QUEUE_PREFIX: queuePrefix,
      TICKER_SERVICE_URL: simulator.url,
      MARKET_CLOCK_OFFSET_SECONDS: String(offsetS),
      BACKFILL_RATE_LIMIT_PER_SECOND: String(RATE),
      BACKFILL_CONCURRENCY: String(Math.max(4, Math.ceil(RATE))),
      BACKFILL_INTERVAL_SECONDS: '86400',
      RECONCILE_INTERVAL_SECONDS: '86400',
      TICKER_WINDOW_SHIFT_MINUTES: '0',
      TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
    });
    const url = service.url;

    // The burst of subscriptions: every one ticks from now on, and its backfill is queued.
    for (let i = 0; i < tokens.length; i += 50)
      await Promise.all(
        tokens.slice(i, i + 50).map((token) =>
          fetch(`${simulator!.url}/subscriptions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ instrument_token: token, requested_mode: 'FULL' }),
          }),
        ),
      );
    // And a manual backfill of an older window of each: about twice as many jobs as the subscriptions,
    // more than the upstream's rate gets through in the whole run.
    const older = {
      from: new Date(Date.parse(START) - 30 * DAY_MS).toISOString(),
      to: new Date(Date.parse(START) - 9 * DAY_MS).toISOString(),
    };
    for (let i = 0; i < tokens.length; i += 50)
      await Promise.all(
        tokens.slice(i, i + 50).map((token) =>
          fetch(`${url}/api/v1/backfill`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ instrument_token: token, ...older }),
          }),
        ),
      );
    process.stdout.write(
      `${tokens.length} instruments subscribed and ticking, ${2 * tokens.length} backfill jobs at ${RATE} requests/s; waiting for the first minute's bars\n`,
    );
    for (;;) {
      const text = await (await fetch(`${url}/metrics`)).text();
      if (
        metric(text, 'fo_flush_lag_seconds_count') > 0 &&
        metric(text, 'backfill_upstream_requests_total') > 0
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    const coverageTokens = tokens.slice(0, 200);
    const urlOf = (kind: Kind): string => {
      const now = marketNow();
      switch (kind) {
        case 'candles':
          return `${url}/api/v1/instruments/${pick(READ_TOKENS)}/candles?from=${new Date(now - 30 * DAY_MS).toISOString()}&to=${new Date(now).toISOString()}&interval=1m`;
        case 'udf': {
          const to = Math.floor(now / 1000);
          return `${url}/udf/history?symbol=${pick(READ_TOKENS)}&resolution=1&from=${to - 5 * 86_400}&to=${to}`;
        }
        case 'coverage':
          return `${url}/api/v1/instruments/${pick(coverageTokens)}/coverage`;
        case 'chain':
          return `${url}/api/v1/options/NIFTY/chain`;
        case 'subscriptions':
          return `${url}/api/v1/subscriptions?limit=100`;
      }
    };

    // Phase 1: no storm.
    const quiet0 = await snapshot(url);
    await new Promise((resolve) => setTimeout(resolve, PHASE_S * 1000));
    const quiet = between(quiet0, await snapshot(url));

    // Phase 2: the storm.
    // Every client keeps its connection: past maxFreeSockets (256 by default) an idle one, a client
    // waiting out Retry-After, would be closed and opened again, and the reconnects would be measured.
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, maxFreeSockets: CLIENTS });
    const answers: Array<Answer & { kind: Kind }> = [];
    let storming = true;
    const client = async (i: number): Promise<void> => {
      const kind = KINDS[i % KINDS.length];
      // The clients arrive over RAMP_MS rather than in one instant: 2,000 connections opened at once
      // overflow the service's listen backlog (511) while its thread is busy, and the SYN retries
      // (1, 3, 7, 15 s...) would be measured instead.
      await new Promise((resolve) => setTimeout(resolve, (i / CLIENTS) * RAMP_MS));
      while (storming) {
        const answer = await request(agent, urlOf(kind));
        if (!storming) break;
        answers.push({ ...answer, kind });
        if (answer.status === 503) {
          const wait = Number(answer.retryAfter ?? 1) * 1000;
          await new Promise((resolve) => setTimeout(resolve, Number.isFinite(wait) ? wait : 1000));
        } else if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const storm0 = await snapshot(url);
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await new Promise((resolve) => setTimeout(resolve, PHASE_S * 1000));
    const storm1 = await snapshot(url);
    const storm = between(storm0, storm1);
    storming = false;
    await Promise.all(clients);
    agent.destroy();
    const stormSeconds = (storm1.at - storm0.at) / 1000;

    // The limit: the same SELECTs over a pool of the read pool's size, while the ticks and the
    // backfill go on as before.
    bare = await new DataSource(
      // No bound on the wait for a connection: the limit is what the pool serves, however long the line.
      dataSourceOptions({
        DATABASE_URL: db.url,
        DB_POOL_SIZE: READ_POOL_SIZE,
        DB_QUERY_TIMEOUT_MS: 30_000,
        connectTimeoutMs: 0,
      }),
    ).initialize();
    const candles = new CandlesQueryRepository(bare);
    const udf = new UdfRepository(bare);
    const chains = new OptionChainRepository(bare);
    const backfill = new BackfillQueryRepository(bare);
    const subscriptions = new SubscriptionsQueryRepository(bare);
    const selects: Record<Kind, () => Promise<unknown>> = {
      candles: () => {
        const now = marketNow();
        return candles.minutes(pick(READ_TOKENS), new Date(now - 30 * DAY_MS), new Date(now));
      },
      udf: async () => {
        const now = marketNow();
        const row = await udf.findByToken(pick(READ_TOKENS));
        return candles.minutes(Number(row!.instrument_token), new Date(now - 5 * DAY_MS), new Date(now));
      },
      coverage: async () => {
        const token = pick(coverageTokens);
        const now = new Date(marketNow());
        const from = new Date(now.getTime() - 8 * DAY_MS);
        await Promise.all([
          backfill.coverage([token], from, now),
          backfill.storedMinutes([token], from, now),
        ]);
        return Promise.all([
          backfill.coverage([token], from, now),
          backfill.lastCandleTime(token),
          backfill.findUnsupported([token]),
        ]);
      },
      chain: async () => {
        const now = new Date(marketNow());
        const expiry = await chains.nearestExpiry('NIFTY', istDateOf(now));
        const time = await chains.latestMinute('NIFTY', expiry!, now);
        return Promise.all([
          chains.strikes('NIFTY', expiry!, time!),
          chains.metrics('NIFTY', expiry!, time!),
        ]);
      },
      subscriptions: () =>
        Promise.all([subscriptions.count(undefined), subscriptions.list(undefined, 100, 0)]),
    };
    let bareReads = 0;
    const bareByKind = new Map<Kind, number>();
    let bareRunning = true;
    const bareStarted = Date.now();
    // Four callers per connection keep every connection busy (2,000 would only queue: a read of
    // several statements would go to the back of the line for each, and never finish in the run);
    // each caller goes round the mix, so every kind runs as often.
    const bareClients = Array.from({ length: BARE_CALLERS }, async (_, i) => {
      for (let n = i; bareRunning; n++) {
        const kind = KINDS[n % KINDS.length];
        await selects[kind]();
        if (!bareRunning) break;
        bareReads++;
        bareByKind.set(kind, (bareByKind.get(kind) ?? 0) + 1);
      }
    });
    await new Promise((resolve) => setTimeout(resolve, BARE_S * 1000));
    bareRunning = false;
    const bareSeconds = (Date.now() - bareStarted) / 1000;
    await Promise.all(bareClients);

    // Figures.
    const byStatus = new Map<number, number>();
    for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
    const ok = answers.filter((a) => a.status === 200);
    const okMs = ok.map((a) => a.ms).sort((a, b) => a - b);
    const unavailable = answers.filter((a) => a.status === 503);
    const withoutRetryAfter = unavailable.filter((a) => !/^\d+$/.test(a.retryAfter ?? '')).length;
    const other5xx = answers.filter((a) => a.status >= 500 && a.status !== 503).length;
    process.stdout.write(
      `\n${CLIENTS} clients for ${PHASE_S} s, mix ${KINDS.join(', ')}; read pool ${READ_POOL_SIZE}, default admission\n`,
    );
    process.stdout.write(
      `answers by status: ${[...byStatus.entries()]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${status === 0 ? 'failed' : status}: ${count}`)
        .join(', ')}\n`,
    );
    for (const kind of KINDS) {
      const mine = answers.filter((a) => a.kind === kind);
      const mineOk = mine
        .filter((a) => a.status === 200)
        .map((a) => a.ms)
        .sort((a, b) => a - b);
      process.stdout.write(
        `  ${kind.padEnd(14)} ${String(mine.length).padStart(7)} answers, ${String(mineOk.length).padStart(6)} 200s (${(mineOk.length / stormSeconds).toFixed(1)}/s; bare ${((bareByKind.get(kind) ?? 0) / bareSeconds).toFixed(1)}/s), p50 ${percentile(mineOk, 50).toFixed(0)} ms, p99 ${percentile(mineOk, 99).toFixed(0)} ms\n`,
      );
    }
    const failures = new Map<string, number>();
    for (const answer of answers.filter((a) => a.status === 0))
      failures.set(answer.error ?? '?', (failures.get(answer.error ?? '?') ?? 0) + 1);
    process.stdout.write(
      `5xx other than 503: ${other5xx}; 503s without Retry-After: ${withoutRetryAfter} of ${unavailable.length}; no answer: ${
        [...failures.entries()].map(([code, count]) => `${code} ${count}`).join(', ') || 'none'
      }; connections opened: ${answers.filter((a) => a.connected).length}\n`,
    );
    const barePerS = bareReads / bareSeconds;
    process.stdout.write(
      `${report('reads answered (200) per second', ok.length / stormSeconds, '/s', { value: barePerS, unit: '/s', label: `same SELECTs bare (equal mix), pool of ${READ_POOL_SIZE}` })}\n`,
    );
    process.stdout.write(`${report('200s p50', percentile(okMs, 50), 'ms')}\n`);
    process.stdout.write(`${report('200s p99', percentile(okMs, 99), 'ms')}\n`);
    process.stdout.write(
      `${report('stream commit lag, mean, storm', storm.lagMeanS, 's', { value: quiet.lagMeanS, unit: 's', label: 'without storm' })}\n`,
    );
    process.stdout.write(
      `stream commit lag p99 within (histogram bound): storm ${storm.lagP99BoundS} s, without ${quiet.lagP99BoundS} s (aim: grace + 1 s = ${(GRACE_MS + 1000) / 1000} s); bars ${storm.bars} / ${quiet.bars}\n`,
    );
    process.stdout.write(
      `${report('backfill upstream requests/s, storm', storm.upstreamPerS, '/s', { value: quiet.upstreamPerS, unit: '/s', label: 'without storm' })}\n`,
    );
    process.stdout.write(`(upstream limit: ${RATE} requests/s)\n`);
    if (process.env.BENCH_DEBUG) {
      const text = await (await fetch(`${url}/metrics`)).text();
      process.stdout.write(
        text
          .split('\n')
          .filter((l) => /^backfill_(upstream|triggers|jobs_deferred|dependency|queue_depth)|^api_/.test(l))
          .join('\n') + '\n',
      );
      process.stdout.write(
        JSON.stringify(await db.query(`SELECT state, count(*) FROM backfill_jobs GROUP BY 1`)) + '\n',
      );
      process.stdout.write(service.output().slice(-3000) + '\n');
    }
  } finally {
    await bare?.destroy();
    await service?.stop('SIGTERM', 25_000);
    simulator?.child.kill('SIGTERM');
    await db.drop();
    const redis = testRedis();
    await deleteKeys(redis, queuePrefix)
      .then(() => deleteKeys(redis, prefix))
      .finally(() => redis.disconnect());
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
