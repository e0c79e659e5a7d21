import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { BrowserContext, chromium, Page } from 'playwright-core';
import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { BACKFILL_QUEUE, redisOptionsFromUrl } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { BackfillQueueDto } from '../../src/backfill/dto/backfill-queue.dto';
import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { CHROMIUM_ARGS, chromiumBuild } from '../support/chromium';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { startHistorySimulator } from '../support/simulator';
import { waitFor } from '../support/wait-for';

// Thursday 2025-11-06 11:00:30 IST (the 5th is a holiday): the lookback is 30 and 31 October, 3, 4
// and 6 November; the minute 11:00 is still forming.
const NOW = '2025-11-06T05:30:30.000Z';
const LIQUID = 333765378; // NIFTY25NOV24750CE
const FUTURE = 978125314; // NIFTY25NOVFUT
const INDEX = 256265; // NIFTY 50
const ILLIQUID = 430881794; // NIFTY25N0424250PE, no trade in many minutes
const UNKNOWN = 1091680770; // NIFTY25N0425250CE, made unknown to the upstream's history
// The liquid option's event waits this long in a paused queue (on the test clock): its time to data.
const QUEUED_MS = 1500;
// Half an hour of 4 November (10:30-11:00 IST) punched out of the liquid option.
const PUNCH_FROM = '2025-11-04T05:00:00.000Z';
const PUNCH_TO = '2025-11-04T05:30:00.000Z';
const FULL_LOOKBACK = 4 * 375 + 106;
const API_KEY = 'ui-e2e-key-0123456789';
const SCREENSHOT = join(__dirname, '..', '..', 'docs', 'images', 'ui.png');

interface Band {
  from: string;
  to: string;
}

interface ChartState {
  token: number | null;
  interval: string | null;
  from: string | null;
  to: string | null;
  candles: number;
  lastClose: number | null;
  lastTime: string | null;
  volumeBars: number;
  lastVolume: number | null;
  oiPoints: number;
  lastOi: number | null;
  renders: number;
  slots: number;
  counts: Record<'data' | 'empty' | 'gap' | 'none', number>;
  bands: { data: Band[]; empty: Band[]; gap: Band[] };
  error: string | null;
}

interface PageState {
  subscriptions: number;
  queue: Record<string, number | boolean>;
  refreshes: number;
}

const overlaps = (band: Band, from: string, to: string): boolean =>
  Date.parse(band.from) < Date.parse(to) && Date.parse(band.to) > Date.parse(from);

describe('the chart and coverage page in a real browser', () => {
  const clock = new FixedClock(NOW);
  let sim: RunningSimulator;
  let app: TestApp;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let backfillQueue: Queue | undefined;
  const foreignRequests: string[] = [];
  /** Paths the page asked its own service for. */
  const pageRequests = new Set<string>();
  const pageErrors: string[] = [];

  const chartState = (): Promise<ChartState> => page.evaluate<ChartState>('window.__chartState');
  const pageState = (): Promise<PageState> => page.evaluate<PageState>('window.__pageState');

  interface ApiCandle {
    time: string;
    close: number;
    volume: number;
    oi: number | null;
  }

  async function apiCandles(state: ChartState): Promise<ApiCandle[]> {
    const res = await request(app.url)
      .get(`/api/v1/instruments/${state.token}/candles`)
      .query({ from: state.from, to: state.to, interval: state.interval })
      .expect(200);
    return res.body.candles;
  }

  /** The volume and OI series hold one bar per candle served, the last ones equal to the API's. */
  function expectVolumeAndOi(state: ChartState, served: ApiCandle[]): void {
    const withOi = served.filter((c) => c.oi !== null);
    expect(withOi.length).toBeGreaterThan(0);
    expect({
      volumeBars: state.volumeBars,
      lastVolume: state.lastVolume,
      oiPoints: state.oiPoints,
      lastOi: state.lastOi,
    }).toEqual({
      volumeBars: served.length,
      lastVolume: served[served.length - 1].volume,
      oiPoints: withOi.length,
      lastOi: withOi[withOi.length - 1].oi,
    });
  }

  /** The queue panel's numbers, by `data-metric`, as the page shows them. */
  const shownQueue = (): Promise<Record<string, string>> =>
    page.evaluate<Record<string, string>>(
      "Object.fromEntries([...document.querySelectorAll('#queue dd')].map((dd) => [dd.dataset.metric, dd.textContent]))",
    );

  /** What the queue panel should show for one scrape of /metrics (index.html says where each comes from). */
  async function queueFromMetrics(): Promise<Record<string, string>> {
    const text = (await request(app.url).get('/metrics').expect(200)).text;
    const sum = (name: string, labels: Record<string, string> = {}): number =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const depth = (state: string): number => sum('backfill_queue_depth', { state });
    const count = sum('backfill_time_to_data_seconds_count');
    return {
      waiting: String(depth('waiting') + depth('prioritized') + depth('paused')),
      delayed: String(depth('delayed')),
      active: String(depth('active')),
      failed: String(depth('failed')),
      succeeded: String(sum('backfill_triggers_total', { outcome: 'succeeded' })),
      'triggers-failed': String(sum('backfill_triggers_total', { outcome: 'failed' })),
      skipped: String(sum('backfill_triggers_total', { outcome: 'skipped' })),
      'candles-written': String(sum('backfill_candles_written_total')),
      'time-to-data': count > 0 ? `${(sum('backfill_time_to_data_seconds_sum') / count).toFixed(2)} s` : '–',
    };
  }

  /** The same numbers from the queue route the panel reads (it must agree with /metrics). */
  async function queueFromRoute(): Promise<Record<string, string>> {
    const body = (await request(app.url).get('/api/v1/backfill/queue').expect(200)).body as BackfillQueueDto;
    const mean = body.time_to_data.mean_seconds;
    return {
      waiting: String(body.depth.waiting + body.depth.prioritized + body.depth.paused),
      delayed: String(body.depth.delayed),
      active: String(body.depth.active),
      failed: String(body.depth.failed),
      succeeded: String(body.jobs.succeeded),
      'triggers-failed': String(body.jobs.failed),
      skipped: String(body.jobs.skipped),
      'candles-written': String(body.candles_written),
      'time-to-data': mean === null ? '–' : `${mean.toFixed(2)} s`,
    };
  }

  /** Waits until the backfill API lists one job of `token` in `state`. */
  const jobReaches = (token: number, state: string, timeoutMs: number): Promise<boolean> =>
    waitFor(
      `the job of ${token} ${state}`,
      async () =>
        (await request(app.url).get('/api/v1/backfill/jobs').query({ instrument_token: token, state })).body
          .total === 1,
      { timeoutMs, intervalMs: 50 },
    );

  /** The chart of `token` at `interval`, redrawn after `after` renders. */
  async function drawn(token: number, interval: string, after = 0): Promise<ChartState> {
    return waitFor(
      `chart of ${token} at ${interval}`,
      async () => {
        const state = await chartState();
        return state.token === token && state.interval === interval && state.renders > after && state;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  beforeAll(async () => {
    const channelPrefix = `${uniqueName('ui')}:nifty`;
    sim = await startHistorySimulator(channelPrefix, clock);
    sim.setKnobs({ historyUnknownTokens: [UNKNOWN] });
    app = await startTestApp({
      clock,
      channelPrefix,
      env: {
        API_KEY,
        BACKFILL_ENABLED: 'true',
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        TICKER_SERVICE_URL: sim.url,
        BACKFILL_INTERVAL_SECONDS: '86400',
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        BACKFILL_MAX_ATTEMPTS: '2',
      },
    });
    backfillQueue = new Queue(BACKFILL_QUEUE, {
      connection: redisOptionsFromUrl(TEST_REDIS_URL),
      prefix: app.queuePrefix,
    });
    // The liquid option's job waits in a paused queue while the test clock moves on: its time to
    // data (event to candles committed) is QUEUED_MS, not the zero of a clock that stands still.
    await backfillQueue.pause();
    try {
      await sim.subscribe(LIQUID);
      await jobReaches(LIQUID, 'queued', 10_000);
      clock.advance(QUEUED_MS);
    } finally {
      await backfillQueue.resume();
    }
    for (const token of [FUTURE, INDEX, ILLIQUID, UNKNOWN]) await sim.subscribe(token);
    for (const [token, state] of [
      [LIQUID, 'succeeded'],
      [FUTURE, 'succeeded'],
      [INDEX, 'succeeded'],
      [ILLIQUID, 'succeeded'],
      [UNKNOWN, 'skipped'],
    ] as const) {
      await waitFor(
        `backfill of ${token} ${state}`,
        async () => {
          const res = await request(app.url)
            .get('/api/v1/backfill/jobs')
            .query({ instrument_token: token, state });
          return res.body.total >= 1;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }

    profile = mkdtempSync(join(tmpdir(), 'mds-ui-chromium-'));
    // A persistent context is how Playwright takes a user data directory of our choosing.
    const browser = await chromiumBuild();
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browser.executablePath,
      env: browser.env,
      headless: true,
      // Chromium takes its locale from LANG, and under LANG=C the headless build reports the
      // invalid tag en-US@posix, which Intl refuses: the locale is the test's to choose.
      locale: 'en-US',
      viewport: { width: 1400, height: 1050 },
      args: CHROMIUM_ARGS,
    });
    page = context.pages()[0] ?? (await context.newPage());
    const origin = new URL(app.url).origin;
    page.on('request', (req) => {
      const url = req.url();
      if (url.startsWith(origin)) pageRequests.add(new URL(url).pathname);
      else if (!url.startsWith('data:')) foreignRequests.push(url);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      // Chromium logs every refused request; the wrong API key below is refused on purpose.
      if (message.type() === 'error' && !/status of 401/.test(message.text()))
        pageErrors.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await backfillQueue?.resume().catch(() => undefined);
    await backfillQueue?.close();
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await app?.close();
    await sim?.stop();
  });

  it('lists the subscriptions and the queue, and draws the candles the API serves at each picked interval', async () => {
    await page.goto(`${app.url}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await waitFor(
      'five subscription rows',
      async () => (await page.locator('#subscriptions tbody tr').count()) === 5,
      {
        timeoutMs: 20_000,
        intervalMs: 100,
      },
    );

    await page.fill('#symbol-search', 'nifty25nov2475');
    const result = page.locator(`#search-results button[data-token="${LIQUID}"]`);
    await result.waitFor({ timeout: 10_000 });
    await result.click();

    const minutes = await drawn(LIQUID, '1m');
    const served = await apiCandles(minutes);
    // Four full sessions and 09:15-11:00 of the fifth, every minute traded; 11:00 is still forming.
    expect(served).toHaveLength(FULL_LOOKBACK);
    expect(minutes.candles).toBe(served.length);
    expect(minutes.lastClose).toBe(served[served.length - 1].close);
    expect(minutes.lastTime).toBe(served[served.length - 1].time);
    expect(await page.getAttribute('#chart', 'data-candles')).toBe(String(served.length));
    expectVolumeAndOi(minutes, served);
    // Nothing missing but the minute forming now (stored, but fetched again until it is final).
    expect(minutes.bands.gap).toEqual([{ from: '2025-11-06T05:30:00.000Z', to: '2025-11-06T05:31:00.000Z' }]);

    for (const interval of ['15m', '1h', '1d']) {
      const before = (await chartState()).renders;
      await page.selectOption('#interval', interval);
      const state = await drawn(LIQUID, interval, before);
      const candles = await apiCandles(state);
      expect(candles.length).toBeGreaterThan(0);
      expect(state.candles).toBe(candles.length);
      expect(state.lastClose).toBe(candles[candles.length - 1].close);
      expectVolumeAndOi(state, candles);
    }

    // A row of the table picks its instrument too. Minutes without a trade were fetched and found
    // empty: grey, not a gap.
    await page.selectOption('#interval', '1m');
    const beforeIlliquid = (await chartState()).renders;
    await page.click(`#subscriptions tbody tr[data-token="${ILLIQUID}"]`);
    const illiquid = await drawn(ILLIQUID, '1m', beforeIlliquid);
    const illiquidServed = await apiCandles(illiquid);
    expect(illiquidServed.length).toBeLessThan(FULL_LOOKBACK - 200);
    expect(illiquid.candles).toBe(illiquidServed.length);
    expect(illiquid.bands.empty.length).toBeGreaterThan(10);
    expect(illiquid.bands.gap).toEqual([
      { from: '2025-11-06T05:30:00.000Z', to: '2025-11-06T05:31:00.000Z' },
    ]);
    // Every session minute of the lookback has its place: a candle, fetched-empty, or the forming minute.
    expect(illiquid.slots).toBe(FULL_LOOKBACK);
    const formingHasCandle = illiquidServed[illiquidServed.length - 1].time === '2025-11-06T05:30:00.000Z';
    expect(illiquid.counts).toEqual({
      data: illiquidServed.length - (formingHasCandle ? 1 : 0),
      empty: FULL_LOOKBACK - illiquidServed.length - (formingHasCandle ? 0 : 1),
      gap: 1,
      none: 0,
    });

    const row = page.locator(`#subscriptions tbody tr[data-token="${LIQUID}"]`);
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toContain('NIFTY25NOV24750CE');
    expect(cells[1]).toBe('active');
    expect(cells[2]).toBe('2025-11-06 11:00');
    expect(cells[3]).toMatch(/^succeeded · (event|reconcile) · 2025-11-06 11:00$/);
    // The time to data of its newest job, as the API reports it: the time it waited in the queue.
    const jobs = (
      await request(app.url).get('/api/v1/backfill/jobs').query({ instrument_token: LIQUID }).expect(200)
    ).body.jobs as { time_to_data_ms: number | null }[];
    expect(jobs.find((job) => job.time_to_data_ms !== null)?.time_to_data_ms).toBe(QUEUED_MS);
    expect(cells[4]).toBe('1.50 s');
    expect(cells[5]).toBe('no');
    // The upstream does not know this one: parked for BACKFILL_UNSUPPORTED_TTL_SECONDS (6 h).
    const unknown = await page
      .locator(`#subscriptions tbody tr[data-token="${UNKNOWN}"] td`)
      .allTextContents();
    expect(unknown[2]).toBe('–');
    expect(unknown[3]).toMatch(/^skipped · (event|reconcile) · 2025-11-06 11:00$/);
    expect(unknown[5]).toBe('yes, until 2025-11-06 17:00');

    const queue = await waitFor(
      'queue numbers from /metrics',
      async () => {
        const state = await pageState();
        return (state.queue.succeeded as number) >= 4 && state.queue;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(queue.circuitOpen).toBe(false);
    expect(queue.skipped).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#queue dd[data-metric="succeeded"]')).toBe(String(queue.succeeded));
    expect(await page.textContent('#refresh-seconds')).toBe('5');
  }, 120_000);

  it("shows the queue's waiting, active and failed jobs as /metrics counts them", async () => {
    const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const [down, waiting] = sim.universe.instruments
      .filter((i) => i.kind === 'CE' && ![LIQUID, UNKNOWN].includes(i.instrument_token))
      .map((i) => i.instrument_token);
    // A contract whose history fails alone uses its two attempts and stays in the failed set.
    sim.setKnobs({ downTokens: [down] });
    await requester.request([{ instrumentToken: down, trigger: 'manual', requestedAt: clock.now() }]);
    await jobReaches(down, 'failed', 20_000);
    // Another waits in the queue, paused (as an operator would pause it), so that it stays waiting.
    await backfillQueue!.pause();
    try {
      await requester.request([{ instrumentToken: waiting, trigger: 'manual', requestedAt: clock.now() }]);
      // The page polls every 5 s, the queue depth is sampled every 15 s: every number shown must be
      // the one /metrics gives at the same moment, once both have caught up with the queue.
      const shown = await waitFor(
        'the queue panel showing what /metrics counts',
        async () => {
          const expected = await queueFromMetrics();
          if (expected.waiting !== '1' || expected.failed !== '1') return undefined;
          const panel = await shownQueue();
          return Object.entries(expected).every(([key, value]) => panel[key] === value) && panel;
        },
        { timeoutMs: 45_000, intervalMs: 250 },
      );
      // The panel reads the queue route, and the route the metric objects /metrics exposes: with the
      // queue standing still, the two answer the same numbers.
      expect(await queueFromRoute()).toEqual(await queueFromMetrics());
      expect(shown).toMatchObject({
        waiting: '1',
        active: '0',
        delayed: '0',
        failed: '1',
        'triggers-failed': '1',
      });
      expect(shown['time-to-data']).toMatch(/^\d+\.\d\d s$/);
      expect(shown['time-to-data']).not.toBe('0.00 s');
    } finally {
      await backfillQueue!.resume();
    }
    sim.setKnobs({ downTokens: [] });
    await waitFor(
      `the waiting job of ${waiting} done once the queue runs again`,
      async () =>
        (
          await request(app.url)
            .get('/api/v1/backfill/jobs')
            .query({ instrument_token: waiting, state: 'succeeded' })
        ).body.total === 1,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }, 120_000);

  it('shows a punched gap as a band on the time axis and fills it from the backfill button', async () => {
    let before = (await chartState()).renders;
    await page.click(`#subscriptions tbody tr[data-token="${LIQUID}"]`);
    await drawn(LIQUID, '1m', before);

    // Delete the minutes and the coverage that spans them, keeping the coverage on either side.
    await app.database.query(
      `WITH old AS (
         DELETE FROM backfill_coverage
          WHERE instrument_token = $1 AND covered_from < $3 AND covered_to > $2
         RETURNING instrument_token, covered_from, covered_to, job_id)
       INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles, job_id)
       SELECT instrument_token, covered_from, $2, 0, job_id FROM old WHERE covered_from < $2
       UNION ALL
       SELECT instrument_token, $3, covered_to, 0, job_id FROM old WHERE covered_to > $3`,
      [LIQUID, PUNCH_FROM, PUNCH_TO],
    );
    await app.database.query(
      `DELETE FROM candles_1m WHERE instrument_token = $1 AND time >= $2 AND time < $3`,
      [LIQUID, PUNCH_FROM, PUNCH_TO],
    );

    const punched = await waitFor(
      'the punched gap drawn as a band',
      async () => {
        const state = await chartState();
        return state.bands.gap.some((band) => band.from === PUNCH_FROM && band.to === PUNCH_TO) && state;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const served = await apiCandles(punched);
    expect(served).toHaveLength(FULL_LOOKBACK - 30);
    expect(punched.candles).toBe(served.length);
    expect(await page.getAttribute('#chart', 'data-gap-bands')).toBe('2');

    if (process.env.UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.mouse.move(1, 1);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }

    // The service requires a key: the button asks for it, asks again after a wrong one, and the tab
    // keeps the one that worked.
    const dialog = page.locator('#api-key-dialog');
    await page.click('#backfill-button');
    await dialog.waitFor({ state: 'visible', timeout: 5000 });
    await page.fill('#api-key-input', 'not-the-key');
    await page.click('#api-key-ok');
    await waitFor(
      'wrong key refused',
      async () => (await page.textContent('#backfill-result'))?.includes('refused'),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(await page.evaluate<string | null>("sessionStorage.getItem('mds-api-key')")).toBeNull();
    await page.click('#backfill-button');
    await dialog.waitFor({ state: 'visible', timeout: 5000 });
    await page.fill('#api-key-input', API_KEY);
    await page.click('#api-key-ok');
    await waitFor(
      'backfill accepted',
      async () => (await page.textContent('#backfill-result'))?.startsWith('queued'),
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(await page.evaluate<string | null>("sessionStorage.getItem('mds-api-key')")).toBe(API_KEY);

    before = (await chartState()).renders;
    const filled = await waitFor(
      'the gap filled and its band gone',
      async () => {
        const state = await chartState();
        return (
          state.renders > before &&
          !state.bands.gap.some((band) => overlaps(band, PUNCH_FROM, PUNCH_TO)) &&
          state.candles === FULL_LOOKBACK &&
          state
        );
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    const again = await apiCandles(filled);
    expect(filled.candles).toBe(again.length);
    expect(filled.bands.gap).toEqual([{ from: '2025-11-06T05:30:00.000Z', to: '2025-11-06T05:31:00.000Z' }]);
    const restored = await app.database.query<{ n: string }>(
      `SELECT count(*) AS n FROM candles_1m WHERE instrument_token = $1 AND time >= $2 AND time < $3`,
      [LIQUID, PUNCH_FROM, PUNCH_TO],
    );
    expect(Number(restored[0].n)).toBe(30);
  }, 120_000);

  it('loaded everything from the service itself, without a script error', () => {
    expect(foreignRequests).toEqual([]);
    // The queue panel reads its JSON route, not the Prometheus text.
    expect(pageRequests).toContain('/api/v1/backfill/queue');
    expect(pageRequests).not.toContain('/metrics');
    expect(pageErrors).toEqual([]);
  });

  it('documents the page routes in the OpenAPI document', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/',
        '/ui',
        '/ui/app.js',
        '/ui/modules/{name}',
        '/ui/style.css',
        '/ui/vendor/lightweight-charts.mjs',
      ]),
    );
  });
});
