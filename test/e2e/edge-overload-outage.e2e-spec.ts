import { RunningSimulator } from '../../simulator/simulator';
import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { startHistorySimulator } from '../support/simulator';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

// The HTTP edge under overload and outage: a dependency that is down, or more reads than a replica
// admits, is a 503 with Retry-After on every route (REST and UDF) within 2 s, never a 500; and a
// read storm never takes the connections the ingestion needs. Faults are cut with the TCP proxy.

// Thursday 2025-11-06 11:00:30 IST (the 5th is a holiday).
const NOW = '2025-11-06T05:30:30.000Z';
const STORED = 990_001; // an instrument with 200 sessions of minutes: reads of it keep PostgreSQL busy
const LIQUID = 333765378; // NIFTY25NOV24750CE in the simulator's universe

interface Answer {
  status: number;
  retryAfter: string | null;
  ms: number;
  body: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    ms: Date.now() - started,
    body,
  };
}

const post = (url: string, body: unknown): Promise<Answer> =>
  call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** One route of each family that reads (or, for POST, writes through) the database. */
function routes(base: string): Array<[string, () => Promise<Answer>]> {
  return [
    [
      'candles',
      () =>
        call(
          `${base}/api/v1/instruments/${STORED}/candles?from=2025-11-03T03:45:00Z&to=2025-11-06T05:30:00Z&interval=1m`,
        ),
    ],
    ['coverage', () => call(`${base}/api/v1/instruments/${STORED}/coverage`)],
    ['subscriptions', () => call(`${base}/api/v1/subscriptions`)],
    ['backfill jobs', () => call(`${base}/api/v1/backfill/jobs`)],
    ['chain', () => call(`${base}/api/v1/options/NIFTY/chain?expiry=2025-11-25`)],
    [
      'udf history',
      () => call(`${base}/udf/history?symbol=${STORED}&resolution=1&from=1762141500&to=1762407000`),
    ],
    ['udf symbols', () => call(`${base}/udf/symbols?symbol=${STORED}`)],
    ['POST backfill', () => post(`${base}/api/v1/backfill`, { instrument_token: STORED })],
  ];
}

/** A 503 in the agreed shape: REST `{statusCode, error, message}`, UDF `{s: "error", errmsg}`, and Retry-After. */
function expectUnavailable(name: string, answer: Answer, withinMs: number): void {
  const udf = name.startsWith('udf');
  expect({ name, status: answer.status, retryAfter: /^\d+$/.test(answer.retryAfter ?? '') }).toEqual({
    name,
    status: 503,
    retryAfter: true,
  });
  expect({ name, fast: answer.ms < withinMs }).toEqual({ name, fast: true });
  if (udf) expect(answer.body).toEqual({ s: 'error', errmsg: expect.stringMatching(/unavailable|busy/) });
  else
    expect(answer.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/unavailable|busy/),
    });
}

/** 200 sessions of minutes for one instrument, plus an option chain's instrument rows. */
async function seed(db: TestDatabase): Promise<void> {
  await db.query(
    `INSERT INTO instruments (instrument_token, tradingsymbol, name, segment, exchange, instrument_type)
     VALUES ($1, 'STORMTEST', 'NIFTY', 'INDICES', 'NSE', 'INDEX')`,
    [STORED],
  );
  await db.query(
    `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
     SELECT $1, d + m * interval '1 minute', 100, 101, 99, 100.5, 10, 1000, 'history'
       FROM generate_series('2025-04-01T03:45:00Z'::timestamptz, '2025-11-05T03:45:00Z', interval '1 day') AS d,
            generate_series(0, 374) AS m`,
    [STORED],
  );
  await db.query('ANALYZE candles_1m');
}

describe('the HTTP edge under outage and overload', () => {
  const clock = new FixedClock(NOW);

  it('PostgreSQL cut: every route family answers 503 with Retry-After within 2 s, and serves again after', async () => {
    const database = await createTestDatabase();
    const proxy = await TcpProxy.forUrl(database.url).start();
    let app: TestApp | undefined;
    try {
      app = await startTestApp({
        clock,
        database,
        env: {
          DATABASE_URL: proxy.rewrite(database.url),
          BACKFILL_ENABLED: 'true',
          TICKER_SERVICE_URL: 'http://127.0.0.1:9',
          BACKFILL_INTERVAL_SECONDS: '86400',
        },
      });
      await seed(database);
      for (const [name, route] of routes(app.url))
        expect({ name, status: (await route()).status }).toEqual({
          name,
          status: name === 'POST backfill' ? 202 : name === 'chain' ? 404 : 200,
        });

      proxy.cut();
      for (const [name, route] of routes(app.url)) expectUnavailable(name, await route(), 2000);

      proxy.restore();
      await waitFor('reads served again', async () => (await routes(app!.url)[0][1]()).status === 200);
    } finally {
      proxy.restore();
      await app?.close();
      await proxy.stop();
      await database.drop();
    }
  }, 60_000);

  it('Redis cut: POST /api/v1/backfill answers 503 with Retry-After within 2 s; readiness says the backfill cannot take requests', async () => {
    const proxy = await TcpProxy.forUrl(TEST_REDIS_URL).start();
    let app: TestApp | undefined;
    try {
      app = await startTestApp({
        clock,
        env: {
          REDIS_URL: proxy.rewrite(TEST_REDIS_URL),
          BACKFILL_ENABLED: 'true',
          TICKER_SERVICE_URL: 'http://127.0.0.1:9',
          BACKFILL_INTERVAL_SECONDS: '86400',
        },
      });
      await seed(app.database);
      const ready = await call(`${app.url}/health/ready`);
      expect((ready.body as { details: { backfill: { status: string } } }).details.backfill.status).toBe(
        'up',
      );

      proxy.cut();
      const refused = await post(`${app.url}/api/v1/backfill`, { instrument_token: STORED });
      expectUnavailable('POST backfill', refused, 2000);
      expect((refused.body as { message: string }).message).toMatch(/queue|redis/i);
      // Nothing half-done: no job record is left saying queued for a job that never reached the queue.
      expect(await app.database.query(`SELECT id FROM backfill_jobs`)).toEqual([]);
      const during = await call(`${app.url}/health/ready`);
      expect(during.status).toBe(200);
      expect((during.body as { details: Record<string, unknown> }).details.backfill).toMatchObject({
        status: 'down',
        queue: 'unreachable',
        accepts_requests: false,
      });
      // Reads need no Redis.
      expect((await call(`${app.url}/api/v1/instruments/${STORED}/coverage`)).status).toBe(200);

      proxy.restore();
      await waitFor(
        'the backfill takes requests again',
        async () => {
          const answer = await post(`${app!.url}/api/v1/backfill`, { instrument_token: STORED });
          return answer.status === 202;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
    } finally {
      proxy.restore();
      await app?.close();
      await proxy.stop();
    }
  }, 60_000);

  it('more concurrent reads than a replica admits: the excess is refused at once with 503 and Retry-After, none is a 500', async () => {
    const app = await startTestApp({
      clock,
      env: {
        DB_READ_POOL_SIZE: '2',
        API_READS_IN_FLIGHT: '2',
        API_READ_QUEUE_LENGTH: '2',
        API_READ_QUEUE_WAIT_MS: '200',
      },
    });
    try {
      await seed(app.database);
      // Daily candles of 200 sessions: each read keeps PostgreSQL busy a while, and its small answer
      // keeps this process (client and service share its thread) free to answer the refusals.
      const url = `${app.url}/api/v1/instruments/${STORED}/candles?from=2025-04-01T00:00:00Z&to=2025-11-06T00:00:00Z&interval=1d`;
      const answers = await Promise.all(Array.from({ length: 60 }, () => call(url)));
      const byStatus = new Map<number, number>();
      for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
      expect([...byStatus.keys()].sort()).toEqual([200, 503]);
      expect(byStatus.get(200)).toBeGreaterThanOrEqual(2);
      for (const answer of answers.filter((a) => a.status === 503)) {
        expectUnavailable('candles', answer, 1000);
        expect((answer.body as { message: string }).message).toMatch(/busy/);
      }
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).toMatch(/^api_reads_refused_total [1-9]/m);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('a read storm held while an instrument is subscribed: its history arrives on time', async () => {
    const channelPrefix = `${uniqueName('sim')}:nifty`;
    const sim: RunningSimulator = await startHistorySimulator(channelPrefix, clock);
    const app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        // The ingestion pool keeps the harness's 5 connections; reads get 2 of their own.
        DB_READ_POOL_SIZE: '2',
        API_READS_IN_FLIGHT: '2',
      },
    });
    let storming = true;
    const answered = new Map<number, number>();
    try {
      await seed(app.database);
      // Daily candles of 200 sessions: heavy for PostgreSQL, light for the HTTP layer.
      const url = `${app.url}/api/v1/instruments/${STORED}/candles?from=2025-08-01T00:00:00Z&to=2025-11-06T00:00:00Z&interval=1d`;
      const worker = async (): Promise<void> => {
        while (storming) {
          const answer = await call(url).catch(() => ({ status: 0 }) as Answer);
          answered.set(answer.status, (answered.get(answer.status) ?? 0) + 1);
          // Refused, a client comes back when Retry-After says (never a hot loop of refusals).
          const retryAfterMs = Number(answer.retryAfter ?? 0) * 1000;
          if (answer.status !== 200)
            await new Promise((resolve) => setTimeout(resolve, Math.max(50, retryAfterMs)));
        }
      };
      const storm = Array.from({ length: 150 }, () => worker());
      await waitFor('the storm under way', () => (answered.get(200) ?? 0) >= 10, { timeoutMs: 30_000 });

      const subscribed = Date.now();
      await sim.subscribe(LIQUID);
      await waitFor(
        'the subscription backfilled',
        async () => {
          const rows = await app.database.query(
            `SELECT 1 FROM backfill_jobs WHERE instrument_token = $1 AND state = 'succeeded'`,
            [LIQUID],
          );
          return rows.length > 0;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const arrivedMs = Date.now() - subscribed;
      storming = false;
      await Promise.all(storm);
      // The storm was real: more reads than the replica admits, PostgreSQL answering them all along.
      expect(answered.get(200) ?? 0).toBeGreaterThanOrEqual(10);
      expect(answered.get(503) ?? 0).toBeGreaterThan(0);
      expect([...answered.keys()].filter((status) => status !== 200 && status !== 503)).toEqual([]);
      // On time: the backfill's own aim (p99 2 s, from the event to its candles committed) with room
      // for a busy machine. The job records measure it on the test's fixed clock, so it is timed here.
      expect({ arrivedMs, onTime: arrivedMs < 4000 }).toEqual({ arrivedMs, onTime: true });
      const [{ candles }] = await app.database.query<{ candles: string }>(
        `SELECT count(*) AS candles FROM candles_1m WHERE instrument_token = $1`,
        [LIQUID],
      );
      expect(Number(candles)).toBeGreaterThan(1500);
    } finally {
      storming = false;
      await app.close();
      await sim.stop();
    }
  }, 120_000);
});
