/**
 * `npm run demo`: the service doing its job against the local PostgreSQL and Redis.
 *
 * Starts the ticker simulator (in this process, on TICKER_SERVICE_URL's port) and the service
 * (`ts-node src/main.ts`, migrations at boot) on a database of its own, `<database>_demo`, recreated on
 * every run so each run measures from scratch. Then it subscribes every instrument of
 * TEST_INSTRUMENTS.json through the simulator's `POST /subscriptions`, as a user of the ticker would,
 * and shows each instrument's way from the subscription to candles in the database (the service's
 * `GET /api/v1/subscriptions`: event received, backfill state, newest candle), ending with a summary,
 * the address of the chart and coverage page (`/ui/`) and how to query the API. Ctrl-C stops both.
 *
 *   npm run demo                  # keeps running after the summary until Ctrl-C
 *   npm run demo -- --exit        # stops after the summary (DEMO_EXIT=true)
 *   DEMO_TIMEOUT_S=300 npm run demo
 *
 * Settings come from `.env.dev` and the environment, exactly as the service reads them.
 */

import { createWriteStream, readFileSync, WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { loadAppConfig } from '../src/app.settings';
import { ConfigValidationError } from '../src/config/config.loader';
import { marketCalendarOf } from '../src/common/market-time.module';
import {
  Clock,
  OffsetClock,
  Session,
  SystemClock,
  floorToMinute,
  toIstIso,
} from '../src/contracts/market-time';
import { RunningSimulator, startSimulator } from '../simulator/simulator';
import type { TestInstrument, TestInstrumentsFile } from '../simulator/test-instruments';
import { databaseName, postgresProblem, recreateDatabase, withDatabase } from './support/postgres';
import { deleteKeys, redisProblem } from './support/redis';
import { portIsFree, ServiceProcess, startServiceProcess } from './support/service-process';

const ROOT = join(__dirname, '..');
const SERVICE_LOG = join(tmpdir(), 'nifty-demo-service.log');
const POLL_MS = 500;
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 25_000;

const ESC = String.fromCharCode(27);
const tty = process.stdout.isTTY === true;
const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = paint(32);
const yellow = paint(33);
const red = paint(31);
const dim = paint(2);
const bold = paint(1);

/** A failure the user can fix; printed as is, without a stack trace. */
class DemoError extends Error {}

interface ServiceView {
  instrument_token: number;
  source: string;
  first_seen_at: string;
  last_candle_time: string | null;
  backfill: { state: string; trigger: string } | null;
}

interface Row {
  instrument: TestInstrument;
  subscribedAt: number;
  seenAt?: number;
  dataAt?: number;
  view?: ServiceView;
  stage: string;
  candles?: number;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function pad(text: string, width: number): string {
  // Colour codes take no room on screen.
  const visible = text.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '').length;
  return text + ' '.repeat(Math.max(0, width - visible));
}

function hostPort(url: string, fallbackPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || fallbackPort}`;
}

async function checkPostgres(url: string): Promise<string | undefined> {
  const problem = await postgresProblem(withDatabase(url, 'postgres'));
  return problem === undefined
    ? undefined
    : `PostgreSQL is not reachable at ${hostPort(url, 5432)} (${problem}).\n` +
        '    Start it, e.g. `sudo service postgresql start` or `pg_ctlcluster <version> main start`,\n' +
        '    or with Docker: `docker compose up -d timescaledb redis`.';
}

async function checkRedis(url: string): Promise<string | undefined> {
  const problem = await redisProblem(url);
  return problem === undefined
    ? undefined
    : `Redis is not reachable at ${hostPort(url, 6379)} (${problem}).\n` +
        '    Start it, e.g. `redis-server --daemonize yes --save "" --appendonly no`,\n' +
        '    or with Docker: `docker compose up -d timescaledb redis`.';
}

/** Removes the demo's queue keys of an earlier run, so old job ids do not swallow new jobs. */
async function clearQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await deleteKeys(redis, `${prefix}:`);
  } finally {
    redis.disconnect();
  }
}

async function getJson<T>(url: string, timeoutMs = 3000): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function stageOf(row: Row): string {
  const view = row.view;
  if (row.dataAt !== undefined) return green('data in the database');
  if (!view) return dim('subscribed, waiting for the service');
  const seen = view.source === 'event' ? 'event received' : `seen (${view.source})`;
  if (!view.backfill) return yellow(seen);
  const state = view.backfill.state === 'failed' ? red('failed') : view.backfill.state;
  return yellow(`${seen}, backfill ${state}`);
}

class Demo {
  private sim?: RunningSimulator;
  private service?: ServiceProcess;
  private serviceLog?: WriteStream;
  private stopping = false;
  private drawn = 0;
  private readonly rows: Row[] = [];
  private readonly started = Date.now();
  private clock: Clock = new SystemClock();

  constructor(
    private readonly exitAfterSummary: boolean,
    private readonly timeoutMs: number,
  ) {}

  async run(): Promise<void> {
    let config;
    try {
      ({ config } = await loadAppConfig());
    } catch (error) {
      if (error instanceof ConfigValidationError) throw new DemoError(error.message);
      throw error;
    }
    const demoDatabase = `${databaseName(config.DATABASE_URL)}_demo`;
    const demoDatabaseUrl = withDatabase(config.DATABASE_URL, demoDatabase);
    const queuePrefix = `${config.QUEUE_PREFIX}-demo`;
    const simPort = Number(new URL(config.TICKER_SERVICE_URL).port || 80);
    const serviceUrl = `http://127.0.0.1:${config.PORT}`;
    const file = JSON.parse(readFileSync(join(ROOT, 'TEST_INSTRUMENTS.json'), 'utf8')) as TestInstrumentsFile;

    console.log(bold('NIFTY market data: demo'));
    const problems = [await checkPostgres(config.DATABASE_URL), await checkRedis(config.REDIS_URL)];
    for (const [port, what] of [
      [simPort, 'the ticker simulator (TICKER_SERVICE_URL)'],
      [config.PORT, 'the service (PORT)'],
    ] as const) {
      if (!(await portIsFree(port))) {
        problems.push(
          `Port ${port} for ${what} is in use: stop whatever listens there (\`npm run sim\`, \`npm run start:dev\`, docker compose) or change it in .env.dev.`,
        );
      }
    }
    const found = problems.filter((p): p is string => p !== undefined);
    if (found.length > 0) throw new DemoError(found.map((p) => `  - ${p}`).join('\n'));

    await recreateDatabase(withDatabase(config.DATABASE_URL, 'postgres'), demoDatabase);
    await clearQueueKeys(config.REDIS_URL, queuePrefix);
    console.log(
      `  database   ${demoDatabase} (recreated for this run), Redis ${hostPort(config.REDIS_URL, 6379)}`,
    );

    // Outside session hours the market clock of both processes is moved (by one shared offset) to the
    // middle of the last session, so live ticks flow and stream bars appear on any day.
    const calendar = marketCalendarOf(config);
    const realNow = Date.now();
    let clock: Clock = new SystemClock();
    let offsetSeconds = 0;
    const [lastSession] = calendar.recentSessions(new Date(realNow), 1);
    if (!calendar.currentSession(new Date(realNow)) && lastSession) {
      const midSession = floorToMinute(
        (lastSession.open.getTime() + lastSession.close.getTime()) / 2,
      ).getTime();
      offsetSeconds = Math.round((midSession - realNow) / 1000);
      clock = new OffsetClock(new Date(realNow + offsetSeconds * 1000), realNow);
      console.log(
        `  market     closed now: market clock set to ${toIstIso(clock.now())} (MARKET_CLOCK_OFFSET_SECONDS=${offsetSeconds})`,
      );
    }
    this.clock = clock;

    this.sim = await startSimulator({
      clock,
      port: simPort,
      redisUrl: config.REDIS_URL,
      channelPrefix: config.REDIS_CHANNEL_PREFIX,
      holidays: config.MARKET_HOLIDAYS,
      specialSessions: config.MARKET_SPECIAL_SESSIONS,
      log: (line) => this.note(`simulator: ${line}`),
    });
    console.log(
      `  simulator  ${this.sim.url} (seed ${this.sim.seed}, reference date ${this.sim.universe.referenceDate}), channels ${config.REDIS_CHANNEL_PREFIX}:*`,
    );

    await this.startService(
      {
        APP_ENV: config.APP_ENV,
        DATABASE_URL: demoDatabaseUrl,
        DB_MIGRATE_ON_BOOT: 'true',
        QUEUE_PREFIX: queuePrefix,
        PORT: String(config.PORT),
        TICKER_SERVICE_URL: this.sim.url,
        REDIS_URL: config.REDIS_URL,
        REDIS_CHANNEL_PREFIX: config.REDIS_CHANNEL_PREFIX,
        MARKET_CLOCK_OFFSET_SECONDS: String(offsetSeconds),
      },
      serviceUrl,
    );

    console.log(
      `  subscribing the ${file.instruments.length} instruments of TEST_INSTRUMENTS.json through POST ${this.sim.url}/subscriptions\n`,
    );
    // Subscribe while following, so the first instruments' progress shows from their first second.
    const simUrl = this.sim.url;
    const subscribing = (async () => {
      for (const instrument of file.instruments) {
        if (this.stopping) return;
        const subscribedAt = Date.now();
        const response = await fetch(`${simUrl}/subscriptions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ instrument_token: instrument.instrument_token, requested_mode: 'FULL' }),
        });
        if (response.status !== 201) {
          throw new Error(`subscribing ${instrument.tradingsymbol}: HTTP ${response.status}`);
        }
        this.rows.push({ instrument, subscribedAt, stage: '' });
      }
    })();
    let subscribeError: unknown;
    subscribing.catch((error: unknown) => {
      subscribeError = error;
    });
    await this.follow(serviceUrl, file.instruments.length, () => subscribeError);
    await subscribing;
    if (this.stopping) return;
    const [session] = calendar.recentSessions(this.clock.now(), 1);
    if (session) await this.countCandles(serviceUrl, session);
    this.summary(serviceUrl, session, demoDatabaseUrl);
    if (this.exitAfterSummary) {
      await this.stop(0);
      return;
    }
    console.log(
      dim('\nThe simulator and the service keep running (live ticks in session hours). Ctrl-C stops both.'),
    );
  }

  private async startService(env: Record<string, string>, serviceUrl: string): Promise<void> {
    this.serviceLog = createWriteStream(SERVICE_LOG);
    // Its own process group: Ctrl-C reaches the demo only, which then stops the service in order.
    this.service = await startServiceProcess(env, {
      inheritEnv: true,
      detached: true,
      log: this.serviceLog,
      waitForHttp: false,
    });
    void this.service.exited.then(({ code }) => {
      if (this.stopping) return;
      this.clearDrawing();
      console.error(
        red(`\nThe service exited (code ${code}). Last lines of ${SERVICE_LOG}:\n`) + tail(SERVICE_LOG, 25),
      );
      void this.stop(1);
    });
    console.log(`  service    ts-node src/main.ts on ${serviceUrl} (log: ${SERVICE_LOG})`);
    const began = Date.now();
    for (;;) {
      if (this.stopping) return;
      try {
        const response = await fetch(`${serviceUrl}/health/ready`, { signal: AbortSignal.timeout(2000) });
        if (response.ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() - began > READY_TIMEOUT_MS) {
        throw new DemoError(
          `The service did not become ready within ${READY_TIMEOUT_MS / 1000} s. Last lines of ${SERVICE_LOG}:\n${tail(SERVICE_LOG, 25)}`,
        );
      }
      this.draw([dim(`  waiting for ${serviceUrl}/health/ready ... ${seconds(Date.now() - began)}`)]);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    this.clearDrawing();
    console.log(`  service    ready after ${seconds(Date.now() - began)} (migrations applied)`);
    console.log(`  page       ${bold(`${serviceUrl}/ui/`)} (chart, coverage, subscriptions, queue)`);
  }

  /** Polls the service's view of the subscriptions until every instrument has data or the time is up. */
  private async follow(serviceUrl: string, total: number, failed: () => unknown): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let eventsProcessed = 0;
    let lastPlainStatus = Date.now();
    for (;;) {
      if (this.stopping) return;
      try {
        const list = await getJson<{ subscriptions: ServiceView[] }>(
          `${serviceUrl}/api/v1/subscriptions?limit=1000`,
        );
        const views = new Map(list.subscriptions.map((view) => [Number(view.instrument_token), view]));
        const now = Date.now();
        for (const row of this.rows) {
          row.view = views.get(row.instrument.instrument_token);
          if (row.view && row.seenAt === undefined) row.seenAt = now;
          if (row.view?.last_candle_time && row.dataAt === undefined) row.dataAt = now;
          const stage = stageOf(row);
          if (!tty && stage !== row.stage) {
            const at = seconds(now - row.subscribedAt);
            console.log(`  +${at.padStart(7)}  ${pad(row.instrument.tradingsymbol, 24)} ${stage}`);
          }
          row.stage = stage;
        }
        eventsProcessed = await this.eventsProcessed(serviceUrl, eventsProcessed);
      } catch (error) {
        this.note(`service API: ${(error as Error).message}`);
      }
      const done = this.rows.filter((r) => r.dataAt !== undefined).length;
      const stats = this.sim!.stats();
      const header = [
        bold(`  ${done}/${total} instruments with data · ${seconds(Date.now() - this.started)} since start`),
        dim(
          `  events published ${stats.events.published}, processed by the service ${eventsProcessed} · ` +
            `history requests served ${stats.history.ok}, waiting ${stats.history.waiting}`,
        ),
        '',
        dim(
          `  ${pad('token', 11)} ${pad('tradingsymbol', 24)} ${pad('liquidity', 9)} ${pad('event', 8)} ${pad('data', 8)} stage`,
        ),
      ];
      if (tty) {
        const line = (r: Row): string =>
          `  ${pad(String(r.instrument.instrument_token), 11)} ${pad(r.instrument.tradingsymbol, 24)} ` +
          `${pad(r.instrument.liquidity, 9)} ${pad(seconds(r.seenAt && r.seenAt - r.subscribedAt), 8)} ` +
          `${pad(seconds(r.dataAt && r.dataAt - r.subscribedAt), 8)} ${r.stage}`;
        // Redrawing in place needs the block to fit the screen: on a short one, list the rows still waiting.
        const room = (process.stdout.rows || 50) - header.length - 2;
        const rows =
          this.rows.length <= room
            ? this.rows.map(line)
            : [
                ...this.rows
                  .filter((r) => r.dataAt === undefined)
                  .slice(0, room - 1)
                  .map(line),
                dim(`  ... and ${done} more with data`),
              ];
        this.draw([...header, ...rows]);
      }
      if (!tty && Date.now() - lastPlainStatus >= 10_000) {
        lastPlainStatus = Date.now();
        console.log(header[0]);
        console.log(header[1]);
      }
      if (done === total || failed() !== undefined) return;
      if (Date.now() > deadline) {
        this.clearDrawing();
        if (tty) console.log(header[0]);
        console.log(yellow(`  Stopped waiting after ${this.timeoutMs / 1000} s (DEMO_TIMEOUT_S).`));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Sum of subscription_events_total{outcome="processed"} from the service's /metrics. */
  private async eventsProcessed(serviceUrl: string, previous: number): Promise<number> {
    try {
      const response = await fetch(`${serviceUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
      const text = await response.text();
      let total = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith('subscription_events_total{') && line.includes('outcome="processed"')) {
          total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
        }
      }
      return total;
    } catch {
      return previous;
    }
  }

  private async countCandles(serviceUrl: string, session: Session): Promise<void> {
    const from = session.open.toISOString();
    const to = session.close.toISOString();
    for (const row of this.rows) {
      try {
        const body = await getJson<{ candles: unknown[] }>(
          `${serviceUrl}/api/v1/instruments/${row.instrument.instrument_token}/candles?from=${from}&to=${to}&interval=1m`,
        );
        row.candles = body.candles.length;
      } catch {
        row.candles = undefined;
      }
    }
  }

  private summary(serviceUrl: string, session: Session | undefined, databaseUrl: string): void {
    this.clearDrawing();
    const times = this.rows
      .filter((r) => r.dataAt !== undefined)
      .map((r) => r.dataAt! - r.subscribedAt)
      .sort((a, b) => a - b);
    const quantile = (q: number): number | undefined =>
      times.length === 0 ? undefined : times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
    console.log(bold('\nSummary: time from subscription to candles in the database'));
    console.log(
      dim(
        `  ${pad('token', 11)} ${pad('tradingsymbol', 24)} ${pad('liquidity', 9)} ${pad('event', 8)} ${pad('data', 8)} candles in the last session`,
      ),
    );
    for (const r of this.rows) {
      const expected =
        r.instrument.liquidity === 'liquid'
          ? `of ${r.instrument.expected_candles_per_session}`
          : `(illiquid: ~${r.instrument.expected_candles_per_session} expected)`;
      console.log(
        `  ${pad(String(r.instrument.instrument_token), 11)} ${pad(r.instrument.tradingsymbol, 24)} ${pad(r.instrument.liquidity, 9)} ` +
          `${pad(seconds(r.seenAt && r.seenAt - r.subscribedAt), 8)} ` +
          `${pad(r.dataAt !== undefined ? green(seconds(r.dataAt - r.subscribedAt)) : red('none'), 8)} ` +
          `${r.candles === undefined ? '-' : `${r.candles} ${expected}`}`,
      );
    }
    console.log(
      `\n  ${times.length}/${this.rows.length} with data; time to data median ${seconds(quantile(0.5))}, ` +
        `p95 ${seconds(quantile(0.95))}, max ${seconds(times[times.length - 1])} (polled every ${POLL_MS} ms)`,
    );
    if (times.length < this.rows.length) {
      console.log(
        yellow(
          '  Instruments without data: the events reached the service (see the "event" column) but no candles were written; ' +
            `check the backfill in ${SERVICE_LOG}.`,
        ),
      );
    }
    const sample = this.rows[2] ?? this.rows[0];
    const from =
      session?.open.toISOString() ?? new Date(this.clock.now().getTime() - 86_400_000).toISOString();
    const to = session?.close.toISOString() ?? this.clock.now().toISOString();
    console.log(bold('\nSee it'));
    console.log(`  Chart and coverage page: ${serviceUrl}/ui/ (refreshes every 5 s)`);
    console.log(`  UDF datafeed for TradingView-compatible charts: ${serviceUrl}/udf`);
    console.log(bold('\nQuery it'));
    console.log(
      `  curl '${serviceUrl}/api/v1/instruments/${sample.instrument.instrument_token}/candles?from=${from}&to=${to}&interval=5m'`,
    );
    console.log(`  curl '${serviceUrl}/api/v1/subscriptions'`);
    console.log(
      `  curl -X POST '${serviceUrl}/api/v1/backfill' -H 'content-type: application/json' -d '{"instrument_token":${sample.instrument.instrument_token}}'`,
    );
    console.log(`  API documentation: ${serviceUrl}/docs · metrics: ${serviceUrl}/metrics`);
    console.log(
      `  psql '${databaseUrl}' -c 'SELECT instrument_token, count(*), max(time) FROM candles_1m GROUP BY 1'`,
    );
  }

  private note(line: string): void {
    this.clearDrawing();
    console.log(dim(`  ${line}`));
  }

  /** Redraws the live block in place on a terminal. */
  private draw(lines: string[]): void {
    if (!tty) return;
    const width = process.stdout.columns || 120;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}F` : '';
    for (const line of lines)
      out += `\x1b[2K${line.length > width + 20 ? line.slice(0, width + 20) : line}\n`;
    for (let i = lines.length; i < this.drawn; i++) out += '\x1b[2K\n';
    process.stdout.write(out);
    this.drawn = Math.max(lines.length, this.drawn);
  }

  private clearDrawing(): void {
    if (!tty || this.drawn === 0) return;
    process.stdout.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  async stop(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.clearDrawing();
    const child = this.service?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      console.log(dim('  stopping the service ...'));
      await this.service!.stop('SIGTERM', STOP_TIMEOUT_MS);
    }
    this.serviceLog?.end();
    if (this.sim) {
      console.log(dim('  stopping the simulator ...'));
      await this.sim.stop();
    }
    process.exit(code);
  }

  /** Last resort when the demo dies without `stop`: never leave the service running. */
  killService(): void {
    const child = this.service?.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

function main(): void {
  const exit = process.argv.includes('--exit') || /^(1|true|yes)$/i.test(process.env.DEMO_EXIT ?? '');
  const timeoutSeconds = Number(process.env.DEMO_TIMEOUT_S ?? 180);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    console.error(`DEMO_TIMEOUT_S must be a positive number of seconds (got ${process.env.DEMO_TIMEOUT_S})`);
    process.exit(2);
  }
  const demo = new Demo(exit, timeoutSeconds * 1000);
  const onSignal = (): void => {
    void demo.stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => demo.killService());
  demo.run().catch((error: unknown) => {
    if (error instanceof DemoError) console.error(red('\nThe demo cannot run:\n') + error.message);
    else console.error(red('\nThe demo failed: ') + ((error as Error).stack ?? String(error)));
    void demo.stop(1);
  });
}

main();
