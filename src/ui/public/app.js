// The chart and coverage page: a client of the service's own read API, nothing else.
// Candles: GET /api/v1/instruments/{token}/candles (with OI); coverage: .../coverage; calendar and
// price format: GET /udf/symbols; subscriptions, jobs, flags and /metrics for the tables.
import {
  CandlestickSeries,
  HistogramSeries,
  LineSeries,
  createChart,
} from '/ui/vendor/lightweight-charts.mjs';

const REFRESH_MS = 5000;
/** Coverage of every listed instrument (for the unsupported column) every this many refreshes. */
const ROW_DETAIL_EVERY = 6;
const IST_OFFSET_S = 19800;
/** 09:15 IST on 1970-01-01 in epoch seconds: intraday buckets start at the session open. */
const SESSION_ORIGIN_S = 3 * 3600 + 45 * 60;
const INTERVAL_SECONDS = { '1m': 60, '3m': 180, '5m': 300, '15m': 900, '30m': 1800, '1h': 3600, '1d': 86400 };
/** The 1d chart reaches this far back; intraday charts show the backfill lookback. */
const DAILY_RANGE_DAYS = 90;
/** The candles API's longest range per request at each interval. */
const MAX_RANGE_DAYS = { '1m': 31, '3m': 62, '5m': 92, '15m': 184, '30m': 366, '1h': 366, '1d': 3660 };
const KEY_STORAGE = 'mds-api-key';
const COLORS = { data: '#22a06b', empty: '#b6bcc6', gap: '#e5484d', up: '#26a69a', down: '#ef5350' };

const $ = (id) => document.getElementById(id);

const page = {
  flags: null,
  token: null,
  symbol: null,
  symbolInfo: null,
  interval: '1m',
  refreshes: 0,
  rowDetail: new Map(), // token -> coverage (for the unsupported column)
  timeToData: new Map(), // token -> ms
  subscriptions: [],
  busy: false,
  again: false,
  fitNext: true,
};

/** What the chart drew, for people and tests alike (a canvas cannot be read). */
const chartState = {
  token: null,
  symbol: null,
  interval: null,
  from: null,
  to: null,
  candles: 0,
  lastClose: null,
  lastTime: null,
  volumeBars: 0,
  lastVolume: null,
  oiPoints: 0,
  lastOi: null,
  slots: 0,
  counts: { data: 0, empty: 0, gap: 0, none: 0 },
  bands: { data: [], empty: [], gap: [] },
  refreshedAt: null,
  renders: 0,
  error: null,
};
window.__chartState = chartState;
window.__pageState = { subscriptions: 0, queue: {}, refreshes: 0, lastError: null };

// ---------------------------------------------------------------- fetching

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const message = body?.message ?? body?.errmsg ?? `${response.status} ${response.statusText}`;
    throw new HttpError(response.status, `${url.split('?')[0]}: ${message}`);
  }
  return body;
}

async function getText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new HttpError(response.status, `${url}: ${response.status}`);
  return response.text();
}

// ---------------------------------------------------------------- formatting

const pad2 = (n) => String(n).padStart(2, '0');

/** `YYYY-MM-DD HH:MM` IST of an ISO instant. */
function ist(iso) {
  if (!iso) return '–';
  const d = new Date(Date.parse(iso) + IST_OFFSET_S * 1000);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

function seconds(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function setStatus(text, isError = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

// ---------------------------------------------------------------- the calendar, from /udf/symbols

/** Sessions per IST date from the symbol's UDF session fields. */
function calendarOf(info) {
  const parseRange = (range) => {
    const [open, close] = range.split('-');
    const minutes = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(2, 4));
    return [minutes(open), minutes(close)];
  };
  const regular = info.session.split(',').map(parseRange);
  const holidays = new Set(info.session_holidays ? info.session_holidays.split(',') : []);
  const corrections = new Map();
  for (const group of info.corrections ? info.corrections.split(';') : []) {
    const [session, days] = group.split(':');
    for (const day of days.split(',')) corrections.set(day, session.split(',').map(parseRange));
  }
  return (compactDate, weekday) => {
    if (corrections.has(compactDate)) return corrections.get(compactDate);
    if (weekday === 0 || weekday === 6 || holidays.has(compactDate)) return [];
    return regular;
  };
}

/** Bucket starts (epoch seconds) of every session minute in [from, to), ascending. */
function sessionSlots(info, interval, fromS, toS) {
  const width = INTERVAL_SECONDS[interval];
  const sessionsOf = calendarOf(info);
  const slots = [];
  const seen = new Set();
  // IST dates from the one holding `from` to the one holding `to`.
  const firstDay = Math.floor((fromS + IST_OFFSET_S) / 86400);
  const lastDay = Math.floor((toS + IST_OFFSET_S) / 86400);
  for (let day = firstDay; day <= lastDay; day++) {
    const date = new Date(day * 86400 * 1000);
    const compact = `${date.getUTCFullYear()}${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}`;
    const dayStartS = day * 86400 - IST_OFFSET_S; // IST midnight, UTC epoch seconds
    for (const [open, close] of sessionsOf(compact, date.getUTCDay())) {
      for (let minute = open; minute < close; minute++) {
        const t = dayStartS + minute * 60;
        if (t < fromS || t >= toS) continue;
        const bucket =
          interval === '1d'
            ? dayStartS
            : Math.floor((t - SESSION_ORIGIN_S) / width) * width + SESSION_ORIGIN_S;
        if (!seen.has(bucket)) {
          seen.add(bucket);
          slots.push(bucket);
        }
      }
    }
  }
  return slots.sort((a, b) => a - b);
}

const overlaps = (ranges, fromS, toS) => ranges.some((r) => r.from < toS && r.to > fromS);

/**
 * Each slot's coverage: a gap (not stored and not fetched) wins over data, so a bucket with missing
 * minutes shows as a gap; a slot without a candle inside a fetched window was fetched empty.
 */
function coverageOfSlots(slots, interval, candleTimes, coverage) {
  const width = INTERVAL_SECONDS[interval];
  const toRanges = (list) =>
    list.map((r) => ({ from: Date.parse(r.from) / 1000, to: Date.parse(r.to) / 1000 }));
  const gaps = toRanges(coverage.gaps);
  const covered = toRanges(coverage.covered);
  return slots.map((slot) => {
    const end = slot + width;
    if (overlaps(gaps, slot, end)) return 'gap';
    if (candleTimes.has(slot)) return 'data';
    if (overlaps(covered, slot, end)) return 'empty';
    return 'none';
  });
}

/** Runs of equal coverage along the slots, as ISO ranges (end exclusive). */
function bandsOf(slots, states, interval) {
  const width = INTERVAL_SECONDS[interval];
  const bands = { data: [], empty: [], gap: [] };
  let start = 0;
  for (let i = 1; i <= slots.length; i++) {
    if (i < slots.length && states[i] === states[start]) continue;
    const state = states[start];
    if (state !== 'none' && slots.length > 0) {
      bands[state].push({
        from: new Date(slots[start] * 1000).toISOString(),
        to: new Date((slots[i - 1] + width) * 1000).toISOString(),
      });
    }
    start = i;
  }
  return bands;
}

// ---------------------------------------------------------------- the chart

let chart;
let series;

function ensureChart() {
  if (chart) return;
  chart = createChart($('chart'), {
    autoSize: true,
    layout: { background: { color: '#ffffff' }, textColor: '#1f2430', attributionLogo: true },
    grid: { vertLines: { color: '#f0f1f3' }, horzLines: { color: '#f0f1f3' } },
    // Times are shifted to IST wall clock before they reach the chart, which shows them as UTC.
    timeScale: { timeVisible: true, secondsVisible: false },
    rightPriceScale: { borderColor: '#e5e7eb' },
  });
  series = {
    candles: chart.addSeries(
      CandlestickSeries,
      {
        upColor: COLORS.up,
        downColor: COLORS.down,
        wickUpColor: COLORS.up,
        wickDownColor: COLORS.down,
        borderVisible: false,
      },
      0,
    ),
    volume: chart.addSeries(
      HistogramSeries,
      { title: 'volume', priceFormat: { type: 'volume' }, priceLineVisible: false },
      1,
    ),
    oi: chart.addSeries(
      LineSeries,
      {
        title: 'OI',
        color: '#7c3aed',
        lineWidth: 1,
        priceFormat: { type: 'volume' },
        priceLineVisible: false,
      },
      2,
    ),
    coverage: chart.addSeries(
      HistogramSeries,
      {
        title: 'coverage',
        priceLineVisible: false,
        lastValueVisible: false,
        priceFormat: { type: 'custom', formatter: () => '' },
      },
      3,
    ),
  };
  const panes = chart.panes();
  [8, 2, 2, 0.6].forEach((factor, i) => panes[i]?.setStretchFactor(factor));
}

function priceFormatOf(info) {
  const minMove = info.minmov / info.pricescale;
  return { type: 'price', precision: Math.max(0, Math.round(Math.log10(info.pricescale))), minMove };
}

function draw(slots, states, candles) {
  ensureChart();
  const byTime = new Map(candles.map((c) => [Date.parse(c.time) / 1000, c]));
  const times = [...new Set([...slots, ...byTime.keys()])].sort((a, b) => a - b);
  const stateAt = new Map(slots.map((slot, i) => [slot, states[i]]));
  const shown = (t) => t + IST_OFFSET_S;
  const candleData = [];
  const volumeData = [];
  const oiData = [];
  const coverageData = [];
  for (const t of times) {
    const time = shown(t);
    const c = byTime.get(t);
    // A slot without a candle stays on the time axis as whitespace: missing minutes take room.
    if (c) {
      candleData.push({ time, open: c.open, high: c.high, low: c.low, close: c.close });
      volumeData.push({ time, value: c.volume, color: c.close >= c.open ? '#26a69a88' : '#ef535088' });
      oiData.push(c.oi === null ? { time } : { time, value: c.oi });
    } else {
      candleData.push({ time });
      volumeData.push({ time });
      oiData.push({ time });
    }
    const state = stateAt.get(t);
    coverageData.push(state && state !== 'none' ? { time, value: 1, color: COLORS[state] } : { time });
  }
  series.candles.applyOptions({ priceFormat: priceFormatOf(page.symbolInfo) });
  series.candles.setData(candleData);
  series.volume.setData(volumeData);
  series.oi.setData(oiData);
  series.coverage.setData(coverageData);
  if (page.fitNext) {
    chart.timeScale().fitContent();
    page.fitNext = false;
  }
  // Read back from the series: what the chart holds, not what was fetched.
  const drawn = series.candles.data().filter((d) => d.close !== undefined);
  const last = drawn[drawn.length - 1];
  const volumes = series.volume.data().filter((d) => d.value !== undefined);
  const ois = series.oi.data().filter((d) => d.value !== undefined);
  return {
    count: drawn.length,
    last,
    volumeBars: volumes.length,
    lastVolume: volumes.length > 0 ? volumes[volumes.length - 1].value : null,
    oiPoints: ois.length,
    lastOi: ois.length > 0 ? ois[ois.length - 1].value : null,
    slotsDrawn: series.coverage.data().filter((d) => d.value !== undefined).length,
  };
}

async function refreshChart() {
  if (page.token === null) return;
  const token = page.token;
  const interval = page.interval;
  if (!page.symbolInfo || page.symbolInfo.ticker !== String(token)) {
    page.symbolInfo = await getJson(`/udf/symbols?symbol=${token}`);
    page.symbol = page.symbolInfo.name;
    $('selected').textContent = `${page.symbolInfo.name} · ${page.symbolInfo.exchange} · ${token}`;
  }
  const coverage = await getJson(`/api/v1/instruments/${token}/coverage`);
  const to = coverage.lookback_to;
  const wanted =
    interval === '1d' ? Date.parse(to) - DAILY_RANGE_DAYS * 86400_000 : Date.parse(coverage.lookback_from);
  // A long lookback (BACKFILL_LOOKBACK_SESSIONS) at a fine interval is cut to what one request may ask.
  const from = new Date(
    Math.max(wanted, Date.parse(to) - MAX_RANGE_DAYS[interval] * 86400_000),
  ).toISOString();
  const query = new URLSearchParams({ from, to, interval });
  const body = await getJson(`/api/v1/instruments/${token}/candles?${query}`);
  // The answer of an instrument or interval no longer selected is dropped.
  if (token !== page.token || interval !== page.interval) return;

  const fromS = Date.parse(from) / 1000;
  const toS = Date.parse(to) / 1000;
  const slots = sessionSlots(page.symbolInfo, interval, fromS, toS);
  const candleTimes = new Set(body.candles.map((c) => Date.parse(c.time) / 1000));
  const states = coverageOfSlots(slots, interval, candleTimes, coverage);
  const drawn = draw(slots, states, body.candles);
  const bands = bandsOf(slots, states, interval);

  const gapMinutes = coverage.gaps.reduce((sum, gap) => sum + gap.minutes, 0);
  $('coverage-summary').textContent =
    `· ${coverage.covered.length} fetched range(s), ${coverage.gaps.length} gap(s) (${gapMinutes} session minutes)` +
    (coverage.unsupported?.active ? ' · unsupported upstream' : '');

  Object.assign(chartState, {
    token,
    symbol: page.symbol,
    interval,
    from,
    to,
    candles: drawn.count,
    lastClose: drawn.last ? drawn.last.close : null,
    lastTime: drawn.last ? new Date((drawn.last.time - IST_OFFSET_S) * 1000).toISOString() : null,
    volumeBars: drawn.volumeBars,
    lastVolume: drawn.lastVolume,
    oiPoints: drawn.oiPoints,
    lastOi: drawn.lastOi,
    slots: slots.length,
    counts: states.reduce((counts, state) => ({ ...counts, [state]: counts[state] + 1 }), {
      data: 0,
      empty: 0,
      gap: 0,
      none: 0,
    }),
    bands,
    coverageGaps: coverage.gaps,
    refreshedAt: new Date().toISOString(),
    renders: chartState.renders + 1,
    error: null,
  });
  const el = $('chart');
  el.dataset.token = String(token);
  el.dataset.interval = interval;
  el.dataset.candles = String(drawn.count);
  el.dataset.lastClose = drawn.last ? String(drawn.last.close) : '';
  el.dataset.gapBands = String(bands.gap.length);
}

// ---------------------------------------------------------------- subscriptions and queue

function lastBackfillText(backfill) {
  if (!backfill) return ['–', ''];
  const when = backfill.finished_at ? ist(backfill.finished_at) : `requested ${ist(backfill.requested_at)}`;
  return [`${backfill.state} · ${backfill.trigger} · ${when}`, `state-${backfill.state}`];
}

function unsupportedText(coverage) {
  if (!coverage) return ['…', 'muted'];
  const mark = coverage.unsupported;
  if (!mark) return ['no', ''];
  if (!mark.active) return [`expired ${ist(mark.expires_at)}`, 'muted'];
  return [`yes, until ${ist(mark.expires_at)}`, 'unsupported-yes'];
}

function renderSubscriptions() {
  const tbody = $('subscriptions').querySelector('tbody');
  const rows = page.subscriptions.map((sub) => {
    const tr = document.createElement('tr');
    tr.dataset.token = String(sub.instrument_token);
    tr.classList.toggle('selected', sub.instrument_token === page.token);
    const [backfill, backfillClass] = lastBackfillText(sub.backfill);
    const [unsupported, unsupportedClass] = unsupportedText(page.rowDetail.get(sub.instrument_token));
    tr.append(
      cell(`${sub.tradingsymbol ?? '?'} (${sub.instrument_token})`),
      cell(sub.status, sub.status === 'active' ? '' : 'muted'),
      cell(ist(sub.last_candle_time)),
      cell(backfill, backfillClass),
      cell(seconds(page.timeToData.get(sub.instrument_token))),
      cell(unsupported, unsupportedClass),
    );
    tr.addEventListener('click', () => select(sub.instrument_token));
    return tr;
  });
  tbody.replaceChildren(...rows);
}

async function refreshSubscriptions() {
  const [list, jobs] = await Promise.all([
    getJson('/api/v1/subscriptions?limit=1000'),
    getJson('/api/v1/backfill/jobs?limit=500'),
  ]);
  page.subscriptions = list.subscriptions;
  $('subscriptions-total').textContent = `(${list.total})`;
  // Jobs come newest first: the first one with a time to data is the latest.
  const timeToData = new Map();
  for (const job of jobs.jobs) {
    if (job.time_to_data_ms !== null && !timeToData.has(job.instrument_token))
      timeToData.set(job.instrument_token, job.time_to_data_ms);
  }
  page.timeToData = timeToData;
  if (
    page.refreshes % ROW_DETAIL_EVERY === 0 ||
    page.subscriptions.some((s) => !page.rowDetail.has(s.instrument_token))
  ) {
    const missing =
      page.refreshes % ROW_DETAIL_EVERY === 0
        ? page.subscriptions
        : page.subscriptions.filter((s) => !page.rowDetail.has(s.instrument_token));
    // A few at a time: the coverage of each is a plan over the whole lookback.
    for (let i = 0; i < missing.length; i += 4) {
      await Promise.all(
        missing.slice(i, i + 4).map(async (sub) => {
          try {
            page.rowDetail.set(
              sub.instrument_token,
              await getJson(`/api/v1/instruments/${sub.instrument_token}/coverage`),
            );
          } catch {
            // Shown as unknown until the next round.
          }
        }),
      );
    }
  }
  renderSubscriptions();
  window.__pageState.subscriptions = page.subscriptions.length;
}

/** `name{labels} value` lines of the Prometheus text, summed by name and the chosen label. */
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  const sum = (name, labels = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((total, s) => total + (Number.isFinite(s.value) ? s.value : 0), 0);
  return sum;
}

function renderQueue(entries) {
  const dl = $('queue');
  dl.replaceChildren(
    ...entries.flatMap(([key, label, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.metric = key;
      return [dt, dd];
    }),
  );
}

async function refreshQueue() {
  const sum = parseMetrics(await getText('/metrics'));
  const depth = (state) => sum('backfill_queue_depth', { state });
  const queue = {
    waiting: depth('waiting') + depth('prioritized') + depth('paused'),
    delayed: depth('delayed'),
    active: depth('active'),
    failed: depth('failed'),
    succeeded: sum('backfill_triggers_total', { outcome: 'succeeded' }),
    triggersFailed: sum('backfill_triggers_total', { outcome: 'failed' }),
    skipped: sum('backfill_triggers_total', { outcome: 'skipped' }),
    candlesWritten: sum('backfill_candles_written_total'),
    timeToDataCount: sum('backfill_time_to_data_seconds_count'),
    timeToDataSum: sum('backfill_time_to_data_seconds_sum'),
    circuitOpen: sum('backfill_upstream_circuit_open') > 0,
    subscriptionsActive: sum('subscriptions_active'),
    streamBars: sum('fo_bars_written_total'),
  };
  window.__pageState.queue = queue;
  const mean =
    queue.timeToDataCount > 0 ? `${(queue.timeToDataSum / queue.timeToDataCount).toFixed(2)} s` : '–';
  const enabled = page.flags?.flags.backfill_enabled !== false;
  renderQueue([
    ['enabled', 'backfill', enabled ? 'enabled' : 'disabled'],
    ['waiting', 'waiting', String(queue.waiting)],
    ['delayed', 'delayed (retry, rate limit)', String(queue.delayed)],
    ['active', 'active', String(queue.active)],
    ['failed', 'failed (kept)', String(queue.failed)],
    ['succeeded', 'jobs succeeded', String(queue.succeeded)],
    ['triggers-failed', 'jobs failed', String(queue.triggersFailed)],
    ['skipped', 'requests skipped', String(queue.skipped)],
    ['candles-written', 'candles written', String(queue.candlesWritten)],
    ['time-to-data', `mean time to data (${queue.timeToDataCount})`, mean],
    ['circuit', 'upstream circuit', queue.circuitOpen ? 'open' : 'closed'],
    ['subscriptions-active', 'active subscriptions', String(queue.subscriptionsActive)],
    ['stream-bars', 'stream bars written', String(queue.streamBars)],
  ]);
}

// ---------------------------------------------------------------- refresh loop

async function refresh() {
  if (page.busy) {
    // A selection made during a refresh is drawn right after it.
    page.again = true;
    return;
  }
  page.busy = true;
  const errors = [];
  const guard = (work) => work().catch((error) => errors.push(error));
  try {
    if (!page.flags) await guard(async () => (page.flags = await getJson('/api/v1/config/flags')));
    await Promise.all([guard(refreshSubscriptions), guard(refreshQueue), guard(refreshChart)]);
  } finally {
    page.busy = false;
  }
  page.refreshes++;
  window.__pageState.refreshes = page.refreshes;
  updateBackfillButton();
  if (errors.length > 0) {
    const message = errors.map((e) => e.message).join(' · ');
    window.__pageState.lastError = message;
    chartState.error = message;
    setStatus(`error: ${message}`, true);
  } else {
    window.__pageState.lastError = null;
    setStatus(`updated ${new Date().toLocaleTimeString([], { hour12: false })} (local clock)`);
  }
  if (page.again) {
    page.again = false;
    void refresh();
  }
}

function loop() {
  // A hidden tab asks nothing; it catches up when shown again.
  const run = document.hidden ? Promise.resolve() : refresh();
  void run.finally(() => setTimeout(loop, REFRESH_MS));
}

// ---------------------------------------------------------------- picking

function select(token) {
  if (page.token === token) return;
  page.token = token;
  page.symbolInfo = null;
  page.fitNext = true;
  $('backfill-result').textContent = '';
  history.replaceState(null, '', `#token=${token}&interval=${page.interval}`);
  renderSubscriptions();
  void refresh();
}

let searchTimer;
function onSearchInput() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const query = $('symbol-search').value.trim();
    const list = $('search-results');
    if (!query) {
      list.hidden = true;
      return;
    }
    try {
      const results = await getJson(`/udf/search?${new URLSearchParams({ query, limit: '20' })}`);
      list.replaceChildren(
        ...results.map((result) => {
          const li = document.createElement('li');
          const button = document.createElement('button');
          button.type = 'button';
          button.dataset.token = result.ticker;
          button.textContent = `${result.symbol}  ·  ${result.exchange}  ·  ${result.description}`;
          button.addEventListener('click', () => {
            list.hidden = true;
            $('symbol-search').value = result.symbol;
            select(Number(result.ticker));
          });
          li.append(button);
          return li;
        }),
      );
      if (results.length === 0) {
        const li = document.createElement('li');
        li.className = 'muted';
        li.textContent = 'no instrument matches';
        list.replaceChildren(li);
      }
      list.hidden = false;
    } catch (error) {
      setStatus(`search: ${error.message}`, true);
    }
  }, 200);
}

// ---------------------------------------------------------------- backfill

function updateBackfillButton() {
  const button = $('backfill-button');
  const enabled = page.flags?.flags.backfill_enabled === true;
  button.disabled = page.token === null || !enabled;
  button.title = enabled ? '' : 'backfill is disabled on this service';
  button.textContent = page.symbol ? `Backfill ${page.symbol}` : 'Backfill';
}

function askApiKey() {
  const dialog = $('api-key-dialog');
  const input = $('api-key-input');
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => resolve(dialog.returnValue === 'ok' && input.value ? input.value : null),
      { once: true },
    );
    dialog.showModal();
    input.focus();
  });
}

async function backfill() {
  const token = page.token;
  if (token === null) return;
  const result = $('backfill-result');
  let key = sessionStorage.getItem(KEY_STORAGE);
  if (page.flags?.settings.api_key_required && !key) {
    key = await askApiKey();
    if (!key) {
      result.textContent = 'cancelled: no API key';
      return;
    }
  }
  result.textContent = 'requesting…';
  const headers = { 'content-type': 'application/json' };
  if (key) headers['x-api-key'] = key;
  const response = await fetch('/api/v1/backfill', {
    method: 'POST',
    headers,
    body: JSON.stringify({ instrument_token: token }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_STORAGE);
    result.textContent = 'API key refused; click again to enter it';
    return;
  }
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  if (response.status !== 202) {
    result.textContent = `refused: ${body.message ?? response.status}`;
    return;
  }
  result.textContent =
    body.job_ids.length > 0 ? `queued ${body.job_ids.length} job(s)` : `nothing queued: ${body.skipped}`;
  result.dataset.jobs = String(body.job_ids.length);
  void refresh();
}

// ---------------------------------------------------------------- start

function start() {
  $('refresh-seconds').textContent = String(REFRESH_MS / 1000);
  const params = new URLSearchParams(location.hash.slice(1));
  const interval = params.get('interval');
  if (interval && interval in INTERVAL_SECONDS) page.interval = interval;
  $('interval').value = page.interval;
  $('interval').addEventListener('change', (event) => {
    page.interval = event.target.value;
    page.fitNext = true;
    if (page.token !== null) history.replaceState(null, '', `#token=${page.token}&interval=${page.interval}`);
    void refresh();
  });
  $('symbol-search').addEventListener('input', onSearchInput);
  $('backfill-button').addEventListener('click', () => {
    backfill().catch((error) => ($('backfill-result').textContent = `failed: ${error.message}`));
  });
  const token = Number(params.get('token'));
  if (Number.isInteger(token) && token > 0) page.token = token;
  loop();
}

start();
