import request from 'supertest';
import { DAY_MS, FixedClock, IST_OFFSET_MS, istInstant, MINUTE_MS } from '../../src/contracts/market-time';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { InstrumentsService } from '../../src/market-data/instruments.service';
import { Candle } from '../../src/market-data/market-data.types';
import { UDF_RESOLUTION_INTERVALS, UDF_RESOLUTIONS } from '../../src/udf/udf-format';
import { startTestApp, TestApp } from '../support/app-harness';

// Thursday 2025-11-06 10:30 IST; the 5th is a holiday.
const NOW = '2025-11-06T05:00:00.000Z';
const OPTION = 13660418; // NIFTY25NOV24500CE
const FUTURE = 13238786; // NIFTY25NOVFUT
const INDEX = 256265; // NIFTY 50
const NO_CANDLES = 13660674; // NIFTY25NOV24500PE, known but never traded
const SESSIONS: [string, number][] = [
  ['2025-11-03', 375],
  ['2025-11-04', 375],
  ['2025-11-06', 60], // 09:15-10:15 so far
];
const s = (iso: string): number => Date.parse(iso) / 1000;

interface CandleJson {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

interface History {
  s: string;
  t?: number[];
  o?: number[];
  h?: number[];
  l?: number[];
  c?: number[];
  v?: number[];
  nextTime?: number;
  errmsg?: string;
}

/** Minutes of the sessions with a deterministic shape: some missing, OI sometimes unknown. */
function optionCandles(): Candle[] {
  const candles: Candle[] = [];
  let i = 0;
  for (const [date, minutes] of SESSIONS) {
    for (let m = 0; m < minutes; m++, i++) {
      if (i % 7 === 3) continue; // no trade in this minute
      const open = 100 + (i % 13) + 0.05 * (i % 3);
      candles.push({
        instrumentToken: OPTION,
        time: istInstant(date, 9 * 60 + 15 + m),
        open,
        high: open + 3,
        low: open - 2.5,
        close: open + ((i % 5) - 2) * 0.35,
        volume: 75 * (1 + (i % 17)),
        oi: i % 11 === 0 ? null : 100_000 + 75 * i,
        iv: 0.14 + (i % 9) / 1000,
        delta: 0.5,
        gamma: 0.001,
        theta: -10,
        vega: 9,
        underlyingClose: 24_500 + i,
      });
    }
  }
  return candles;
}

describe('the UDF datafeed', () => {
  const clock = new FixedClock(NOW);
  let app: TestApp;
  const stored = optionCandles();
  const lastStored = stored[stored.length - 1].time;

  const udf = (path: string, query: Record<string, string | number | readonly string[]> = {}) =>
    request(app.url).get(`/udf/${path}`).query(query);

  async function apiCandles(token: number, interval: string, from: Date, to: Date): Promise<CandleJson[]> {
    const res = await request(app.url)
      .get(`/api/v1/instruments/${token}/candles`)
      .query({ from: from.toISOString(), to: to.toISOString(), interval })
      .expect(200);
    return res.body.candles;
  }

  /** The UDF arrays the candles API's answer stands for (daily bars at 00:00 UTC of the IST date). */
  function asHistory(candles: CandleJson[], interval: string): History {
    const shift = interval === '1d' ? IST_OFFSET_MS : 0;
    return {
      s: 'ok',
      t: candles.map((c) => (Date.parse(c.time) + shift) / 1000),
      o: candles.map((c) => c.open),
      h: candles.map((c) => c.high),
      l: candles.map((c) => c.low),
      c: candles.map((c) => c.close),
      v: candles.map((c) => c.volume),
    };
  }

  beforeAll(async () => {
    app = await startTestApp({ clock });
    await app.app.get(InstrumentsService).record(
      [
        {
          instrumentToken: OPTION,
          tradingsymbol: 'NIFTY25NOV24500CE',
          name: 'NIFTY',
          segment: 'NFO-OPT',
          instrumentType: 'CE',
          strike: 24500,
          expiry: '2025-11-25',
          lotSize: 75,
          tickSize: 0.05,
        },
        {
          instrumentToken: NO_CANDLES,
          tradingsymbol: 'NIFTY25NOV24500PE',
          segment: 'NFO-OPT',
          tickSize: 0.05,
        },
        { instrumentToken: FUTURE, tradingsymbol: 'NIFTY25NOVFUT', segment: 'NFO-FUT', tickSize: 0.1 },
        { instrumentToken: INDEX, tradingsymbol: 'NIFTY 50', name: 'NIFTY', segment: 'INDICES', tickSize: 0 },
      ],
      'instrument_list',
    );
    await app.app.get(CandlesRepository).upsertHistory(stored);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('GET /udf/config lists the resolutions, search and time', async () => {
    const res = await udf('config').expect(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body).toEqual({
      supported_resolutions: ['1', '3', '5', '15', '30', '60', '1D'],
      supports_group_request: false,
      supports_marks: false,
      supports_search: true,
      supports_timescale_marks: false,
      supports_time: true,
      exchanges: [
        { value: '', name: 'All exchanges', desc: '' },
        { value: 'NFO', name: 'NFO', desc: 'NSE futures and options' },
        { value: 'NSE', name: 'NSE', desc: 'NSE indices' },
      ],
      symbols_types: [
        { name: 'All types', value: '' },
        { name: 'Option', value: 'option' },
        { name: 'Futures', value: 'futures' },
        { name: 'Index', value: 'index' },
      ],
    });
  });

  it('GET /udf/time answers the market clock in epoch seconds, as text', async () => {
    const res = await udf('time').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toBe(String(s(NOW)));
  });

  it('GET /udf/symbols describes an instrument found by tradingsymbol, EXCHANGE:symbol or token', async () => {
    const bySymbol = await udf('symbols', { symbol: 'nifty25nov24500ce' }).expect(200);
    expect(bySymbol.body).toEqual({
      name: 'NIFTY25NOV24500CE',
      ticker: String(OPTION),
      description: 'NIFTY 2025-11-25 24500 CE',
      type: 'option',
      session: '0915-1530',
      session_holidays: expect.stringContaining('20251105'),
      // The configured special sessions: the Muhurat hours of 2025 and 2026 and the Budget days.
      corrections: '0915-1530:20250201,20260201;1345-1445:20251021;1800-1900:20261108',
      exchange: 'NFO',
      listed_exchange: 'NFO',
      timezone: 'Asia/Kolkata',
      format: 'price',
      pricescale: 100,
      minmov: 5,
      has_intraday: true,
      has_daily: true,
      has_weekly_and_monthly: false,
      supported_resolutions: ['1', '3', '5', '15', '30', '60', '1D'],
      intraday_multipliers: ['1', '3', '5', '15', '30', '60'],
      daily_multipliers: ['1'],
      has_empty_bars: false,
      volume_precision: 0,
      data_status: 'streaming',
      visible_plots_set: 'ohlcv',
    });
    // A holiday with a special session (Diwali's Muhurat hour) has a session, only not the regular one.
    expect(bySymbol.body.session_holidays.split(',')).toEqual(
      app.config.MARKET_HOLIDAYS.filter((day) => day !== '2025-10-21')
        .map((day) => day.replace(/-/g, ''))
        .sort(),
    );
    expect((await udf('symbols', { symbol: `${OPTION}` }).expect(200)).body).toEqual(bySymbol.body);
    expect((await udf('symbols', { symbol: 'NFO:NIFTY25NOV24500CE' }).expect(200)).body).toEqual(
      bySymbol.body,
    );

    const index = (await udf('symbols', { symbol: 'NIFTY 50' }).expect(200)).body;
    expect(index).toMatchObject({
      name: 'NIFTY 50',
      type: 'index',
      exchange: 'NSE',
      pricescale: 100,
      minmov: 1,
    });
    const future = (await udf('symbols', { symbol: 'NIFTY25NOVFUT' }).expect(200)).body;
    expect(future).toMatchObject({ type: 'futures', exchange: 'NFO', pricescale: 10, minmov: 1 });

    const unknown = await udf('symbols', { symbol: 'NOSUCHSYMBOL' }).expect(404);
    expect(unknown.body).toEqual({ s: 'error', errmsg: 'unknown symbol NOSUCHSYMBOL' });
    expect((await udf('symbols', { symbol: 'NSE:NIFTY25NOV24500CE' }).expect(404)).body.s).toBe('error');
  });

  it('GET /udf/search finds by part of the tradingsymbol, prefix matches first, with type, exchange and limit', async () => {
    const all = (await udf('search', { query: 'nifty', limit: 30 }).expect(200)).body;
    expect(all.map((r: { symbol: string }) => r.symbol)).toEqual([
      'NIFTY 50',
      'NIFTY25NOV24500CE',
      'NIFTY25NOV24500PE',
      'NIFTY25NOVFUT',
    ]);
    expect(all[1]).toEqual({
      symbol: 'NIFTY25NOV24500CE',
      full_name: 'NFO:NIFTY25NOV24500CE',
      description: 'NIFTY 2025-11-25 24500 CE',
      exchange: 'NFO',
      ticker: String(OPTION),
      type: 'option',
    });
    const contains = (await udf('search', { query: '24500' }).expect(200)).body;
    expect(contains.map((r: { ticker: string }) => Number(r.ticker))).toEqual([OPTION, NO_CANDLES]);
    const options = (
      await udf('search', { query: 'NIFTY', type: 'option', exchange: 'NFO', limit: 1 }).expect(200)
    ).body;
    expect(options.map((r: { symbol: string }) => r.symbol)).toEqual(['NIFTY25NOV24500CE']);
    const indices = (await udf('search', { query: '', type: 'index', exchange: '' }).expect(200)).body;
    expect(indices.map((r: { symbol: string }) => r.symbol)).toEqual(['NIFTY 50']);
    expect((await udf('search', { query: String(FUTURE) }).expect(200)).body[0].symbol).toBe('NIFTY25NOVFUT');
    // LIKE's wildcards are only characters here.
    expect((await udf('search', { query: '%' }).expect(200)).body).toEqual([]);
    expect((await udf('search', { query: 'NIFTY_5' }).expect(200)).body).toEqual([]);
  });

  it.each(UDF_RESOLUTIONS.map((r) => [r]))(
    'GET /udf/history at resolution %s agrees with the candles API bar for bar',
    async (resolution) => {
      const interval = UDF_RESOLUTION_INTERVALS[resolution];
      const from = new Date('2025-11-03T00:00:00Z');
      const to = new Date('2025-11-07T00:00:00Z');
      const candles = await apiCandles(OPTION, interval, from, to);
      expect(candles.length).toBeGreaterThan(interval === '1d' ? 2 : 10);
      const res = await udf('history', {
        symbol: 'NIFTY25NOV24500CE',
        resolution,
        from: from.getTime() / 1000,
        to: to.getTime() / 1000,
      }).expect(200);
      expect(res.body).toEqual(asHistory(candles, interval));

      // countback: the newest bars before `to`, whatever `from` says.
      const before = new Date('2025-11-06T04:30:00Z');
      const upToBefore = await apiCandles(OPTION, interval, new Date(before.getTime() - 30 * DAY_MS), before);
      for (const countback of [1, 7, upToBefore.length, upToBefore.length + 50]) {
        const back = await udf('history', {
          symbol: String(OPTION),
          resolution,
          from: before.getTime() / 1000 - 60,
          to: before.getTime() / 1000,
          countback,
        }).expect(200);
        expect(back.body).toEqual(asHistory(upToBefore.slice(-countback), interval));
      }
    },
  );

  it('reads resolution D as 1D, with daily bars at 00:00 UTC of the trading date', async () => {
    const res = await udf('history', {
      symbol: OPTION,
      resolution: 'D',
      from: s('2025-11-01T00:00:00Z'),
      to: s('2025-11-07T00:00:00Z'),
    }).expect(200);
    expect(res.body.t).toEqual([
      s('2025-11-03T00:00:00Z'),
      s('2025-11-04T00:00:00Z'),
      s('2025-11-06T00:00:00Z'),
    ]);
  });

  it('answers no_data with nextTime, the bar of the newest minute before `to`, in epoch milliseconds', async () => {
    // The holiday: nothing there; the newest minute before is 4 November 15:29 IST.
    const holiday = { symbol: OPTION, from: s('2025-11-05T03:45:00Z'), to: s('2025-11-05T10:00:00Z') };
    const newest = stored.filter((c) => c.time.getTime() < Date.parse('2025-11-05T10:00:00Z')).pop()!.time;
    expect((await udf('history', { ...holiday, resolution: '1' }).expect(200)).body).toEqual({
      s: 'no_data',
      nextTime: newest.getTime(),
    });
    // 5-minute buckets start at 09:15 IST: the minute 15:29 lies in the bar of 15:25.
    expect(newest.toISOString()).toBe('2025-11-04T09:59:00.000Z');
    expect((await udf('history', { ...holiday, resolution: '5' }).expect(200)).body).toEqual({
      s: 'no_data',
      nextTime: s('2025-11-04T09:55:00Z') * 1000,
    });
    expect((await udf('history', { ...holiday, resolution: '60' }).expect(200)).body).toEqual({
      s: 'no_data',
      nextTime: s('2025-11-04T09:45:00Z') * 1000, // the 15:15 IST bar
    });
    expect((await udf('history', { ...holiday, resolution: '1D' }).expect(200)).body).toEqual({
      s: 'no_data',
      nextTime: s('2025-11-04T00:00:00Z') * 1000,
    });
    // Before any data, with or without countback: no_data and no nextTime.
    const early = {
      symbol: OPTION,
      resolution: '1',
      from: s('2025-10-01T03:45:00Z'),
      to: s('2025-10-01T10:00:00Z'),
    };
    expect((await udf('history', early).expect(200)).body).toEqual({ s: 'no_data' });
    expect((await udf('history', { ...early, countback: 100 }).expect(200)).body).toEqual({ s: 'no_data' });
    expect((await udf('history', { ...early, symbol: NO_CANDLES }).expect(200)).body).toEqual({
      s: 'no_data',
    });
    // After the newest minute: no_data, pointing back at it.
    const later = await udf('history', {
      symbol: OPTION,
      resolution: '1',
      from: s(NOW),
      to: s(NOW) + 3600,
    }).expect(200);
    expect(later.body).toEqual({ s: 'no_data', nextTime: lastStored.getTime() });
  });

  it.each([
    ['an unknown resolution', { resolution: '2' }, /resolution must be one of/],
    ['a resolution list', { resolution: ['1', '5'] }, /resolution must be one of/],
    ['a non-numeric from', { from: 'yesterday' }, /from must be an integer/],
    ['a fractional to', { to: '1762250400.5' }, /to must be an integer/],
    ['a negative from', { from: '-60' }, /from must be an integer from 0 to 4102444800/],
    ['a from past 2100', { from: '99999999999' }, /from must be an integer from 0 to 4102444800/],
    ['a to past 2100', { to: '1e300' }, /to must be an integer from 0 to 4102444800/],
    [
      'to before from',
      { from: s('2025-11-04T05:00:00Z'), to: s('2025-11-04T04:00:00Z') },
      /to: must be after from/,
    ],
    [
      'a range too long for 1-minute bars',
      { from: s('2025-09-01T00:00:00Z') },
      /from: at most 31 days per request at interval 1m/,
    ],
    ['countback 0', { countback: '0' }, /countback must be an integer from 1 to 10000/],
    ['countback past the bound', { countback: '10001' }, /countback must be an integer from 1 to 10000/],
    ['an empty symbol', { symbol: '' }, /symbol must be a tradingsymbol/],
    ['a symbol too long', { symbol: 'N'.repeat(65) }, /symbol must be shorter than or equal to 64/],
    ['a symbol with a control character', { symbol: 'NIFTY\u0000' }, /symbol must be a tradingsymbol/],
    ['an unknown parameter', { foo: 'bar' }, /property foo should not exist/],
    ['no to', { to: undefined }, /to must be an integer/],
    ['no from and no countback', { from: undefined }, /from must be an integer/],
  ])('GET /udf/history refuses %s with 400 {s:"error", errmsg}', async (_what, patch, message) => {
    const query: Record<string, unknown> = {
      symbol: 'NIFTY25NOV24500CE',
      resolution: '1',
      from: s('2025-11-04T03:45:00Z'),
      to: s('2025-11-04T10:00:00Z'),
      ...patch,
    };
    for (const key of Object.keys(query)) if (query[key] === undefined) delete query[key];
    const res = await request(app.url).get('/udf/history').query(query).expect(400);
    const { errors, ...udfShape } = res.body as { errmsg: string; errors?: { field: string }[] };
    expect(udfShape).toEqual({ s: 'error', errmsg: expect.stringMatching(message) });
    // A parameter the DTO refuses is also named field by field, as errmsg names it.
    for (const error of errors ?? []) expect(udfShape.errmsg).toContain(`${error.field}: `);
  });

  it('refuses bad symbols and search parameters in the same shape, and leaves the API its own 400', async () => {
    for (const [path, query] of [
      ['symbols', {}],
      ['symbols', { symbol: 'x'.repeat(200) }],
      ['search', { limit: '0' }],
      ['search', { limit: '101' }],
      ['search', { type: 'bond' }],
      ['search', { exchange: 'BSE' }],
      ['search', { query: 'ü' }],
      ['history', {}],
    ] as const) {
      const res = await udf(path, query).expect(400);
      expect(res.body).toMatchObject({ s: 'error', errmsg: expect.any(String) });
    }
    const api = await request(app.url)
      .get(`/api/v1/instruments/${OPTION}/candles`)
      .query({ interval: '2m' })
      .expect(400);
    expect(api.body).toMatchObject({ statusCode: 400, errors: [{ field: 'interval' }] });
  });

  it('documents every UDF route in the OpenAPI document', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/udf/config', '/udf/time', '/udf/symbols', '/udf/search', '/udf/history']),
    );
  });

  it('answers a minute range as the minute arrays, one bar per stored minute', async () => {
    const from = istInstant('2025-11-04', 9 * 60 + 15);
    const to = new Date(from.getTime() + 30 * MINUTE_MS);
    const res = await udf('history', {
      symbol: OPTION,
      resolution: '1',
      from: from.getTime() / 1000,
      to: to.getTime() / 1000,
    }).expect(200);
    const expected = stored.filter((c) => c.time >= from && c.time < to);
    expect(res.body.t).toEqual(expected.map((c) => c.time.getTime() / 1000));
    expect(res.body.c).toEqual(expected.map((c) => c.close));
    expect(res.body.v).toEqual(expected.map((c) => c.volume));
  });
});
