import Redis from 'ioredis';
import { FixedClock, MINUTE_MS, istInstant, toIstIso } from '../../src/contracts/market-time';
import type {
  OptionTick,
  TickerHistoryCandle,
  TickerHistoryResponse,
  TickerSubscription,
  UnderlyingIndexTick,
  UnderlyingOffHoursBar,
  UnderlyingQuote,
} from '../../src/contracts/ticker.contracts';
import { KITE_INSTRUMENT_COLUMNS } from '../../src/contracts/ticker.contracts';
import { parseInstrumentList } from '../../src/market-data/instrument-list';
import { RunningSimulator, SimInstrument, startSimulator } from '../../simulator/simulator';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { waitFor } from '../support/wait-for';

// 11:00:30 IST on the reference date: in session, so the 11:00 candle is still forming.
const NOW = '2025-11-03T11:00:30+05:30';
const ist = (hhmm: string, date = '2025-11-03'): Date =>
  istInstant(date, Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5)));
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

interface Received {
  channel: string;
  payload: Record<string, unknown>;
}

describe('ticker simulator (contract)', () => {
  const clock = new FixedClock(NOW);
  const prefix = uniqueName('sim');
  let sim: RunningSimulator;
  let subscriber: Redis;
  let publisher: Redis;
  const received: Received[] = [];
  let atm: SimInstrument;
  let future: SimInstrument;
  let illiquid: SimInstrument;

  const http = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; headers: Headers; body: unknown }> => {
    const response = await fetch(`${sim.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
  };
  const history = (token: number, from: Date, to: Date, extra = '&interval=minute&oi=true') =>
    http('GET', `/history?instrument_token=${token}&from_ts=${seconds(from)}&to_ts=${seconds(to)}${extra}`);
  const on = (channel: string): Received[] => received.filter((r) => r.channel === channel);
  const drain = (): void => {
    received.length = 0;
  };
  /**
   * Publishes a marker after the messages under test. The simulator awaited its PUBLISHes, and Redis
   * delivers in execution order, so once the marker arrives every earlier message has.
   */
  const flush = async (): Promise<void> => {
    const marker = uniqueName('flush');
    await publisher.publish(sim.channels.events, JSON.stringify({ marker }));
    await waitFor('the flush marker', () => received.some((r) => r.payload.marker === marker));
  };

  beforeAll(async () => {
    sim = await startSimulator({
      redisUrl: TEST_REDIS_URL,
      channelPrefix: prefix,
      clock,
      liveTickIntervalMs: 0,
    });
    subscriber = new Redis(TEST_REDIS_URL);
    publisher = new Redis(TEST_REDIS_URL);
    subscriber.on('message', (channel: string, message: string) => {
      received.push({ channel, payload: JSON.parse(message) as Record<string, unknown> });
    });
    await subscriber.subscribe(sim.channels.events, sim.channels.options, sim.channels.underlying);
    const nifty = sim.universe.instruments.filter((i) => i.name === 'NIFTY');
    atm = nifty.find((i) => i.kind === 'CE' && i.expiry === '2025-11-04' && i.strikeDistance === 0)!;
    future = nifty.find((i) => i.kind === 'FUT')!;
    illiquid = nifty.find((i) => i.kind === 'PE' && i.expiry === '2025-11-04' && i.strikeDistance === 10)!;
  });

  afterAll(async () => {
    await sim?.stop();
    subscriber?.disconnect();
    publisher?.disconnect();
  });

  beforeEach(() => {
    sim.reset();
    clock.set(NOW);
    drain();
  });

  it('answers /health', async () => {
    expect(await http('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it("serves its universe as Kite's instrument list, which the service reads back exactly", async () => {
    const response = await fetch(`${sim.url}/instruments/NFO`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv');
    const text = await response.text();
    expect(text.split('\n')[0]).toBe(KITE_INSTRUMENT_COLUMNS.join(','));
    const { instruments, skipped } = await parseInstrumentList(text);
    expect(skipped).toBe(0);
    const nfo = sim.universe.instruments.filter((i) => i.exchange === 'NFO');
    expect(instruments.size).toBe(nfo.length);
    for (const i of nfo)
      expect(instruments.get(i.instrument_token)).toEqual({
        instrumentToken: i.instrument_token,
        tradingsymbol: i.tradingsymbol,
        name: i.name,
        segment: i.segment,
        exchange: 'NFO',
        instrumentType: i.kind,
        strike: i.strike,
        expiry: i.expiry,
        lotSize: i.lot_size,
        tickSize: i.tick_size,
      });
    const all = await parseInstrumentList(await (await fetch(`${sim.url}/instruments`)).text());
    expect(all.instruments.get(256265)).toMatchObject({ tradingsymbol: 'NIFTY 50', segment: 'INDICES' });
    expect((await fetch(`${sim.url}/instruments/NFO`, { method: 'POST' })).status).toBe(405);
  });

  describe('subscriptions', () => {
    it('creates, lists as a JSON array with paging and a status filter, and soft-deletes', async () => {
      const tokens = sim.universe.instruments
        .filter((i) => i.segment === 'NFO-OPT')
        .slice(0, 25)
        .map((i) => i.instrument_token);
      for (const token of tokens) {
        const created = await http('POST', '/subscriptions', {
          instrument_token: token,
          requested_mode: 'QUOTE',
          account_id: 'primary',
        });
        expect(created.status).toBe(201);
      }
      const page = async (query: string): Promise<TickerSubscription[]> => {
        const response = await http('GET', `/subscriptions?${query}`);
        expect(response.status).toBe(200);
        expect(Array.isArray(response.body)).toBe(true);
        return response.body as TickerSubscription[];
      };
      const pages = [
        await page('status=active&limit=10&offset=0'),
        await page('status=active&limit=10&offset=10'),
        await page('status=active&limit=10&offset=20'),
      ];
      expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(pages.flat().map((s) => s.instrument_token)).toEqual(tokens);
      expect(pages[0][0]).toEqual({
        instrument_token: tokens[0],
        tradingsymbol: sim.universe.get(tokens[0])!.tradingsymbol,
        segment: 'NFO-OPT',
        status: 'active',
        requested_mode: 'QUOTE',
        account_id: 'primary',
        created_at: new Date(NOW).toISOString(),
        updated_at: new Date(NOW).toISOString(),
      });
      expect(await page('')).toHaveLength(25); // default limit 100
      expect(await page('limit=5000')).toHaveLength(25); // capped at 1000, not rejected

      clock.advance(5_000);
      const removed = await http('DELETE', `/subscriptions/${tokens[3]}`);
      expect(removed).toMatchObject({
        status: 200,
        body: { status: 'inactive', updated_at: clock.now().toISOString() },
      });
      expect((await page('status=active&limit=1000')).map((s) => s.instrument_token)).not.toContain(
        tokens[3],
      );
      expect((await page('status=inactive')).map((s) => s.instrument_token)).toEqual([tokens[3]]);
      expect((await http('DELETE', `/subscriptions/${tokens[3]}`)).status).toBe(404);
      expect((await http('DELETE', '/subscriptions/999')).status).toBe(404);
    });

    it('rejects unknown tokens, bad modes, bad bodies and bad paging', async () => {
      expect((await http('POST', '/subscriptions', { instrument_token: 12345 })).status).toBe(404);
      expect(
        (
          await http('POST', '/subscriptions', {
            instrument_token: atm.instrument_token,
            requested_mode: 'DEPTH',
          })
        ).status,
      ).toBe(400);
      expect((await http('POST', '/subscriptions', { instrument_token: 'abc' })).status).toBe(400);
      expect((await http('GET', '/subscriptions?status=gone')).status).toBe(400);
      expect((await http('GET', '/subscriptions?limit=0')).status).toBe(400);
      const created = await http('POST', '/subscriptions', { instrument_token: atm.instrument_token });
      expect(created).toMatchObject({ status: 201, body: { requested_mode: 'FULL', account_id: null } });
    });

    it('rate limits the list at the configured requests per minute, with Retry-After', async () => {
      sim.setKnobs({ subscriptionsRatePerMin: 2 });
      expect((await http('GET', '/subscriptions')).status).toBe(200);
      expect((await http('GET', '/subscriptions')).status).toBe(200);
      const limited = await http('GET', '/subscriptions');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(sim.stats().subscriptions.rateLimited429).toBe(1);
    });
  });

  describe('events', () => {
    it('publishes created and removed events in the ticker shape', async () => {
      await http('POST', '/subscriptions', { instrument_token: atm.instrument_token });
      clock.advance(1_000);
      await http('DELETE', `/subscriptions/${atm.instrument_token}`);
      await waitFor('two events', () => on(sim.channels.events).length >= 2);
      expect(on(sim.channels.events).map((r) => r.payload)).toEqual([
        {
          event_type: 'subscription_created',
          instrument_token: atm.instrument_token,
          metadata: {
            tradingsymbol: atm.tradingsymbol,
            segment: 'NFO-OPT',
            requested_mode: 'FULL',
            account_id: null,
          },
          timestamp: seconds(new Date(NOW)),
        },
        {
          event_type: 'subscription_removed',
          instrument_token: atm.instrument_token,
          metadata: { tradingsymbol: atm.tradingsymbol, segment: 'NFO-OPT' },
          timestamp: seconds(new Date(NOW)) + 1,
        },
      ]);
    });

    it('switches to the design-note shape', async () => {
      sim.setKnobs({ eventShape: 'design-note' });
      await sim.subscribe(future.instrument_token, { accountId: 'primary' });
      await sim.unsubscribe(future.instrument_token);
      await waitFor('two events', () => on(sim.channels.events).length >= 2);
      const [created, deleted] = on(sim.channels.events).map((r) => r.payload);
      expect(created).toEqual({
        event_type: 'subscription_created',
        instrument_token: future.instrument_token,
        tradingsymbol: future.tradingsymbol,
        timestamp: seconds(new Date(NOW)),
        metadata: { account_id: 'primary', requested_mode: 'FULL', segment: 'NFO-FUT' },
      });
      expect(deleted).toMatchObject({
        event_type: 'subscription_deleted',
        tradingsymbol: future.tradingsymbol,
      });
    });

    it('publishes nothing when events are off', async () => {
      sim.setKnobs({ eventsEnabled: false });
      await sim.subscribe(atm.instrument_token);
      await sim.unsubscribe(atm.instrument_token);
      await flush();
      expect(on(sim.channels.events).filter((r) => r.payload.event_type)).toEqual([]);
      expect(sim.stats().events).toEqual({ published: 0, suppressed: 2 });
    });
  });

  describe('history', () => {
    it('returns minute candles dated at their start in +05:30, oi on request, greeks for options only', async () => {
      const response = await history(atm.instrument_token, ist('10:00'), ist('10:10'));
      expect(response.status).toBe(200);
      const body = response.body as TickerHistoryResponse;
      expect(body).toMatchObject({
        instrument_token: atm.instrument_token,
        tradingsymbol: atm.tradingsymbol,
        segment: 'NFO-OPT',
        interval: 'minute',
        from_ts: seconds(ist('10:00')),
        to_ts: seconds(ist('10:10')),
      });
      // Both ends inclusive, like Kite.
      expect(body.candles.map((c) => c.date)).toEqual(
        Array.from({ length: 11 }, (_, i) => toIstIso(new Date(ist('10:00').getTime() + i * MINUTE_MS))),
      );
      expect(body.candles[0].date).toBe('2025-11-03T10:00:00+05:30');
      for (const candle of body.candles) {
        expect(Object.keys(candle).sort()).toEqual([
          'close',
          'date',
          'delta',
          'gamma',
          'high',
          'iv',
          'low',
          'oi',
          'open',
          'theta',
          'underlying',
          'vega',
          'volume',
        ]);
        expect(candle.low).toBeLessThanOrEqual(Math.min(candle.open, candle.close));
        expect(candle.high).toBeGreaterThanOrEqual(Math.max(candle.open, candle.close));
        expect(candle.volume).toBeGreaterThan(0);
      }
      const withoutOi = (await history(atm.instrument_token, ist('10:00'), ist('10:00'), ''))
        .body as TickerHistoryResponse;
      expect(withoutOi.candles[0].oi).toBeUndefined();
      const futureCandle = (
        (await history(future.instrument_token, ist('10:00'), ist('10:00'))).body as TickerHistoryResponse
      ).candles[0];
      expect(Object.keys(futureCandle).sort()).toEqual([
        'close',
        'date',
        'high',
        'low',
        'oi',
        'open',
        'volume',
      ]);
      const indexCandle = ((await history(256265, ist('10:00'), ist('10:00'))).body as TickerHistoryResponse)
        .candles[0];
      expect(indexCandle.volume).toBe(0);
    });

    it('is deterministic: the same request returns the same numbers', async () => {
      const first = await history(atm.instrument_token, ist('09:15'), ist('10:59'));
      const second = await history(atm.instrument_token, ist('09:15'), ist('10:59'));
      expect(second.body).toEqual(first.body);
      expect((first.body as TickerHistoryResponse).candles).toHaveLength(105);
    });

    it('serves session minutes of trading days only, and nothing after the clock', async () => {
      clock.set('2025-11-06T09:30:30+05:30');
      // Friday 15:00 to Thursday 09:30: a weekend and the 5 November holiday in between.
      const body = (
        await history(future.instrument_token, ist('15:00', '2025-10-31'), ist('12:00', '2025-11-06'))
      ).body as TickerHistoryResponse;
      const dates = body.candles.map((c) => c.date);
      expect(dates).toHaveLength(30 + 375 + 375 + 16);
      expect(dates[0]).toBe('2025-10-31T15:00:00+05:30');
      expect(dates[29]).toBe('2025-10-31T15:29:00+05:30');
      expect(dates[30]).toBe('2025-11-03T09:15:00+05:30');
      expect(dates.some((d) => d.startsWith('2025-11-05'))).toBe(false);
      expect(dates[dates.length - 1]).toBe('2025-11-06T09:30:00+05:30');
      for (const date of dates)
        expect(date.slice(11, 16) >= '09:15' && date.slice(11, 16) <= '15:29').toBe(true);
      // An illiquid strike skips minutes without trade.
      const sparse = (await history(illiquid.instrument_token, ist('09:15'), ist('15:29')))
        .body as TickerHistoryResponse;
      expect(sparse.candles.length).toBeGreaterThan(50);
      expect(sparse.candles.length).toBeLessThan(300);
    });

    it('returns the forming minute as a partial candle of the ticks so far', async () => {
      const body = (await history(atm.instrument_token, ist('10:58'), ist('11:05')))
        .body as TickerHistoryResponse;
      expect(body.candles.map((c) => c.date.slice(11, 16))).toEqual(['10:58', '10:59', '11:00']);
      const ticks = sim
        .ticksFor(atm.instrument_token, ist('11:00'))
        .filter((t) => t.ts <= seconds(new Date(NOW)));
      expect(body.candles[2]).toMatchObject({ open: ticks[0].price, close: ticks[ticks.length - 1].price });
      expect(body.candles[2].volume).toBe(ticks[ticks.length - 1].volume - ticks[0].volume);
      clock.set('2025-11-03T11:01:00+05:30');
      const later = (await history(atm.instrument_token, ist('11:00'), ist('11:00')))
        .body as TickerHistoryResponse;
      expect(later.candles[0]).toEqual(sim.candleFor(atm.instrument_token, ist('11:00')));
    });

    it('moves the window 5h30 earlier with the quirk knob', async () => {
      sim.setKnobs({ windowQuirk: true });
      // Asked 15:45-16:00 IST (after the close); the ticker returns 10:15-10:30 IST.
      const body = (await history(atm.instrument_token, ist('15:45'), ist('16:00')))
        .body as TickerHistoryResponse;
      expect(body.from_ts).toBe(seconds(ist('15:45')));
      expect(body.candles.map((c) => c.date.slice(11, 16))).toEqual(
        Array.from({ length: 16 }, (_, i) => `10:${String(15 + i).padStart(2, '0')}`),
      );
      sim.setKnobs({ windowQuirk: false });
      expect(
        ((await history(atm.instrument_token, ist('15:45'), ist('16:00'))).body as TickerHistoryResponse)
          .candles,
      ).toEqual([]);
    });

    it('answers 400 for a bad window, 404 for unknown tokens, 502 for a token that is down', async () => {
      expect((await history(atm.instrument_token, ist('11:00'), ist('10:00'))).status).toBe(400);
      expect(
        (await http('GET', `/history?instrument_token=${atm.instrument_token}&from_ts=abc&to_ts=1`)).status,
      ).toBe(400);
      expect((await http('GET', `/history?instrument_token=${atm.instrument_token}&to_ts=1`)).status).toBe(
        400,
      );
      expect((await history(atm.instrument_token, ist('10:00', '2025-08-01'), ist('10:00'))).status).toBe(
        400,
      );
      expect((await history(atm.instrument_token, ist('10:00'), ist('10:05'), '&interval=day')).status).toBe(
        400,
      );
      expect((await history(12345, ist('10:00'), ist('10:05'))).status).toBe(404);
      sim.setKnobs({ historyUnknownTokens: [atm.instrument_token], downTokens: [future.instrument_token] });
      expect((await history(atm.instrument_token, ist('10:00'), ist('10:05'))).status).toBe(404);
      expect((await history(future.instrument_token, ist('10:00'), ist('10:05'))).status).toBe(502);
      expect(sim.stats().history).toMatchObject({
        requests: 8,
        badRequest: 5,
        notFound: 2,
        down502: 1,
        ok: 0,
      });
    });

    it('keeps to the history rate: requests wait for a slot', async () => {
      const started = Date.now();
      const statuses = await Promise.all(
        Array.from(
          { length: 6 },
          async () => (await history(atm.instrument_token, ist('10:00'), ist('10:00'))).status,
        ),
      );
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(sim.stats().history.maxWaitMs).toBeGreaterThanOrEqual(900);
    });

    it('turns a wait beyond the maximum into a 502 after waiting that long', async () => {
      sim.setKnobs({ historyRatePerSec: 1, historyMaxWaitMs: 150 });
      const started = Date.now();
      const statuses = await Promise.all(
        Array.from(
          { length: 3 },
          async () => (await history(atm.instrument_token, ist('10:00'), ist('10:00'))).status,
        ),
      );
      expect(statuses.sort()).toEqual([200, 502, 502]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(sim.stats().history).toMatchObject({ ok: 1, waitTimeout502: 2 });
    });

    it('injects 502s and 429s (with Retry-After) at the configured fractions', async () => {
      sim.setKnobs({ fail502Rate: 0.3, fail429Rate: 0.2, historyRatePerSec: 0, retryAfterSeconds: 2 });
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => history(atm.instrument_token, ist('10:00'), ist('10:00'))),
      );
      const count = (status: number): number => responses.filter((r) => r.status === status).length;
      expect(count(502) + count(429) + count(200)).toBe(200);
      expect(count(502)).toBeGreaterThan(30);
      expect(count(502)).toBeLessThan(90);
      expect(count(429)).toBeGreaterThan(15);
      expect(count(429)).toBeLessThan(65);
      expect(responses.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('2');
      expect(sim.stats().history).toMatchObject({
        requests: 200,
        fault502: count(502),
        fault429: count(429),
        ok: count(200),
      });
      // Subscriptions are spared unless the route is listed.
      expect((await http('GET', '/subscriptions')).status).toBe(200);
    });

    it('adds the configured latency', async () => {
      sim.setKnobs({ latencyMs: 200 });
      const started = Date.now();
      expect((await http('GET', '/subscriptions')).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    });
  });

  describe('ticks', () => {
    const aggregateTicks = (ticks: OptionTick[]) => {
      const last = ticks[ticks.length - 1];
      const lastNonZero = (field: 'iv' | 'delta' | 'gamma' | 'theta' | 'vega') =>
        [...ticks].reverse().find((t) => t[field] !== 0)?.[field] ?? null;
      return {
        open: ticks[0].price,
        high: Math.max(...ticks.map((t) => t.price)),
        low: Math.min(...ticks.map((t) => t.price)),
        close: last.price,
        volume: last.volume - ticks[0].volume,
        oi: last.oi,
        iv: lastNonZero('iv'),
        delta: lastNonZero('delta'),
        gamma: lastNonZero('gamma'),
        theta: lastNonZero('theta'),
        vega: lastNonZero('vega'),
      };
    };
    const withoutDateAndUnderlying = (candle: TickerHistoryCandle): Record<string, unknown> =>
      Object.fromEntries(Object.entries(candle).filter(([key]) => key !== 'date' && key !== 'underlying'));
    const candleAt = async (
      instrument: SimInstrument,
      minute: Date,
    ): Promise<TickerHistoryCandle | undefined> =>
      ((await history(instrument.instrument_token, minute, minute)).body as TickerHistoryResponse).candles[0];

    it('publishes a minute in the contract payload, and the ticks aggregate to the history candle', async () => {
      const minute = ist('10:30');
      const count = await sim.publishMinute(atm.instrument_token, minute);
      await waitFor('the minute ticks', () => on(sim.channels.options).length >= count);
      const ticks = on(sim.channels.options).map((r) => r.payload as unknown as OptionTick);
      expect(ticks).toEqual(sim.ticksFor(atm.instrument_token, minute));
      expect(Object.keys(ticks[0]).sort()).toEqual(
        [
          'delta',
          'depth',
          'exchange',
          'expiry',
          'gamma',
          'is_mock',
          'iv',
          'lot_size',
          'oi',
          'price',
          'segment',
          'strike',
          'symbol',
          'theta',
          'tick_size',
          'token',
          'total_buy_quantity',
          'total_sell_quantity',
          'tradingsymbol',
          'ts',
          'type',
          'vega',
          'volume',
        ].sort(),
      );
      expect(ticks[0]).toMatchObject({
        symbol: 'NIFTY',
        token: atm.instrument_token,
        tradingsymbol: atm.tradingsymbol,
        segment: 'NFO-OPT',
        exchange: 'NFO',
        strike: atm.strike,
        expiry: '2025-11-04',
        type: 'CE',
        lot_size: 75,
        tick_size: 0.05,
        is_mock: false,
      });
      for (const tick of ticks) expect(Math.floor(tick.ts / 60) * 60).toBe(seconds(minute));
      // The first tick is no trade: it carries the day volume as of the end of the previous minute.
      const previous = sim.ticksFor(atm.instrument_token, ist('10:29'));
      expect(ticks[0].volume).toBe(previous[previous.length - 1].volume);
      expect(aggregateTicks(ticks)).toEqual(withoutDateAndUnderlying((await candleAt(atm, minute))!));
    });

    it('publishes futures (type FUT, greeks 0.0) and illiquid strikes consistently with history', async () => {
      const open = ist('09:15');
      const tradedMinute = Array.from(
        { length: 60 },
        (_, i) => new Date(open.getTime() + i * MINUTE_MS),
      ).find((m) => sim.ticksFor(illiquid.instrument_token, m).length > 0)!;
      const quietMinute = Array.from({ length: 60 }, (_, i) => new Date(open.getTime() + i * MINUTE_MS)).find(
        (m) => sim.ticksFor(illiquid.instrument_token, m).length === 0,
      )!;
      expect(await candleAt(illiquid, quietMinute)).toBeUndefined();
      let total = await sim.publishMinute(future.instrument_token, open);
      total += await sim.publishMinute(illiquid.instrument_token, tradedMinute);
      await waitFor('the ticks', () => on(sim.channels.options).length >= total);
      const byToken = (token: number) =>
        on(sim.channels.options)
          .map((r) => r.payload as unknown as OptionTick)
          .filter((t) => t.token === token);
      const futureTicks = byToken(future.instrument_token);
      expect(futureTicks[0]).toMatchObject({
        type: 'FUT',
        segment: 'NFO-FUT',
        iv: 0,
        delta: 0,
        gamma: 0,
        theta: 0,
        vega: 0,
        volume: 0,
      });
      const futureCandle = (await candleAt(future, open))!;
      const futureBar = aggregateTicks(futureTicks);
      expect([
        futureBar.open,
        futureBar.high,
        futureBar.low,
        futureBar.close,
        futureBar.volume,
        futureBar.oi,
      ]).toEqual([
        futureCandle.open,
        futureCandle.high,
        futureCandle.low,
        futureCandle.close,
        futureCandle.volume,
        futureCandle.oi,
      ]);
      const illiquidBar = aggregateTicks(byToken(illiquid.instrument_token));
      expect(illiquidBar).toEqual(withoutDateAndUnderlying((await candleAt(illiquid, tradedMinute))!));
    });

    it('reproduces the zero-volume bug with the knob', async () => {
      sim.setKnobs({ tickVolumeZero: true });
      const ticks = sim.ticksFor(atm.instrument_token, ist('10:30'));
      expect(ticks.every((t) => t.volume === 0)).toBe(true);
      expect((await candleAt(atm, ist('10:30')))!.volume).toBeGreaterThan(0);
    });

    it('publishes index ticks whose last prices aggregate to the index candle', async () => {
      const minute = ist('10:30');
      const count = await sim.publishMinute(256265, minute);
      expect(count).toBe(60);
      await waitFor('the index ticks', () => on(sim.channels.underlying).length >= count);
      const ticks = on(sim.channels.underlying).map((r) => r.payload as unknown as UnderlyingIndexTick);
      expect(ticks[0]).toMatchObject({
        symbol: 'NIFTY',
        instrument_token: 256265,
        volume: 0,
        timestamp: seconds(minute),
      });
      expect(Object.keys(ticks[0].ohlc).sort()).toEqual(['close', 'high', 'low', 'open']);
      const prices = ticks.map((t) => t.last_price);
      expect(await candleAt({ instrument_token: 256265 } as SimInstrument, minute)).toMatchObject({
        open: prices[0],
        high: Math.max(...prices),
        low: Math.min(...prices),
        close: prices[59],
        volume: 0,
      });
    });

    it('streams live ticks as the clock advances: bars from ticks equal the history candles', async () => {
      sim.setKnobs({ tickRate: 2 });
      const minute = ist('10:40');
      clock.set(new Date(minute.getTime() - 1));
      await sim.subscribe(atm.instrument_token);
      await sim.subscribe(256265);
      for (let t = 5_000; t <= 65_000; t += 5_000) {
        clock.set(new Date(minute.getTime() + t));
        await sim.pumpLiveTicks();
      }
      await flush();
      const inMinute = (ts: number): boolean => ts >= seconds(minute) && ts < seconds(minute) + 60;
      const options = on(sim.channels.options)
        .map((r) => r.payload as unknown as OptionTick)
        .filter((t) => inMinute(t.ts));
      const trades = sim.ticksFor(atm.instrument_token, minute);
      // Trades plus repeats of the last state between them.
      expect(options.length).toBeGreaterThan(trades.length);
      expect(aggregateTicks(options)).toEqual(aggregateTicks(trades));
      expect(aggregateTicks(options)).toEqual(withoutDateAndUnderlying((await candleAt(atm, minute))!));
      const underlying = on(sim.channels.underlying).map((r) => r.payload);
      const polls = underlying.filter(
        (p) => 'close' in p && inMinute(p.ts as number),
      ) as unknown as UnderlyingQuote[];
      const indexTicks = underlying.filter(
        (p) => 'last_price' in p && inMinute(p.timestamp as number),
      ) as unknown as UnderlyingIndexTick[];
      expect(polls).toHaveLength(60);
      expect(indexTicks).toHaveLength(60);
      const indexCandle = (await candleAt({ instrument_token: 256265 } as SimInstrument, minute))!;
      const closes = polls.map((p) => p.close);
      expect([closes[0], Math.max(...closes), Math.min(...closes), closes[59]]).toEqual([
        indexCandle.open,
        indexCandle.high,
        indexCandle.low,
        indexCandle.close,
      ]);
      expect(indexTicks.map((t) => t.last_price)).toEqual(closes);
      // Quote polls carry the day's open/high/low.
      expect(polls[59].open).toBe(sim.candleFor(256265, ist('09:15'))!.open);
      expect(polls[59].high).toBeGreaterThanOrEqual(indexCandle.high);
    });

    it('sends the off-hours bar outside the session and no option ticks', async () => {
      clock.set('2025-11-03T16:00:00+05:30');
      await sim.subscribe(atm.instrument_token);
      clock.advance(3_000);
      await sim.pumpLiveTicks();
      await flush();
      expect(on(sim.channels.options)).toEqual([]);
      const bars = on(sim.channels.underlying).map((r) => r.payload as unknown as UnderlyingOffHoursBar);
      expect(bars.length).toBeGreaterThan(0);
      const day = sim.history(256265, ist('09:15'), ist('15:29'));
      expect(bars[0]).toMatchObject({
        symbol: 'NIFTY',
        open: day[0].open,
        high: Math.max(...day.map((c) => c.high)),
        low: Math.min(...day.map((c) => c.low)),
        close: day[day.length - 1].close,
        volume: 0,
        is_mock: false,
      });
      expect(bars[bars.length - 1].ts).toBe(seconds(clock.now()));
    });

    it('stops streaming a token that is down or unsubscribed', async () => {
      const minute = ist('10:50');
      clock.set(new Date(minute.getTime() - 1));
      await sim.subscribe(atm.instrument_token);
      await sim.subscribe(future.instrument_token);
      sim.setKnobs({ downTokens: [future.instrument_token] });
      clock.set(new Date(minute.getTime() + 30_000));
      await sim.pumpLiveTicks();
      await sim.unsubscribe(atm.instrument_token);
      clock.set(new Date(minute.getTime() + 60_000));
      await sim.pumpLiveTicks();
      await flush();
      const tokens = new Set(on(sim.channels.options).map((r) => r.payload.token));
      expect([...tokens]).toEqual([atm.instrument_token]);
      const last = Math.max(...on(sim.channels.options).map((r) => r.payload.ts as number));
      expect(last).toBeLessThanOrEqual(seconds(minute) + 30);
    });
  });

  it('replays many instruments at a fixed rate for benchmarks', async () => {
    const result = await sim.publishBulk({ instruments: 5, ticksPerSecond: 2_000, durationMs: 300 });
    expect(result.published).toBeGreaterThan(300);
    expect(result.perToken).toHaveLength(5);
    await waitFor('the bulk ticks', () => on(sim.channels.options).length >= result.published);
    const first = result.perToken[0];
    expect(first.lastCompleteMinute).not.toBeNull();
    const minute = new Date(first.lastCompleteMinute!);
    const ticks = on(sim.channels.options)
      .map((r) => r.payload as unknown as OptionTick)
      .filter((t) => t.token === first.token && Math.floor(t.ts / 60) * 60 === seconds(minute));
    expect(ticks).toEqual(sim.ticksFor(first.token, minute));
  });
});
