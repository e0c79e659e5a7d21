import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig } from '../app.settings';
import { HistoryError } from './history-provider';
import { KiteHistoryProvider } from './kite-history.provider';
import { TickerHistoryProvider } from './ticker-history.provider';
import { probelessTickerWindow } from '../../test/support/ticker-window';

function serve(
  handler: (url: URL) => { status: number; body: unknown; headers?: Record<string, string> },
): Promise<Server> {
  const server = createServer((req, res) => {
    const answer = handler(new URL(req.url ?? '/', 'http://x'));
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

const from = new Date('2026-11-25T03:45:00Z');
const to = new Date('2026-11-25T03:48:00Z');

function tickerProvider(config: AppConfig): TickerHistoryProvider {
  return new TickerHistoryProvider(config, probelessTickerWindow(config));
}

describe('TickerHistoryProvider', () => {
  const candle = (date: string) => ({ date, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10, oi: 5 });

  it('shifts the window by the configured correction and keeps the candles inside it, the inclusive edge dropped', async () => {
    let asked: URL | undefined;
    const server = await serve((url) => {
      asked = url;
      return {
        status: 200,
        body: {
          candles: [
            candle('2026-11-25T09:15:00+05:30'),
            candle('2026-11-25T09:16:00+05:30'),
            candle('2026-11-25T09:18:00+05:30'),
          ],
        },
      };
    });
    try {
      const config = Object.assign(new AppConfig(), {
        TICKER_SERVICE_URL: urlOf(server),
        TICKER_WINDOW_SHIFT_MINUTES: 330,
      });
      const window = probelessTickerWindow(config);
      expect(window.snapshot).toMatchObject({ mode: 'override', shiftMinutes: 330, verified: false });
      const answer = await new TickerHistoryProvider(config, window).fetch(42, from, to);
      expect(Number(asked?.searchParams.get('from_ts'))).toBe(from.getTime() / 1000 + 330 * 60);
      expect(Number(asked?.searchParams.get('to_ts'))).toBe(to.getTime() / 1000 + 330 * 60);
      expect(answer.candles.map((c) => c.time.toISOString())).toEqual([
        '2026-11-25T03:45:00.000Z',
        '2026-11-25T03:46:00.000Z',
      ]);
      expect(answer.candles[0]).toMatchObject({
        instrumentToken: 42,
        oi: 5,
        iv: null,
        underlyingClose: null,
      });
      // The answer's candles span its window: it proves the shift.
      expect(answer).toMatchObject({ shiftMinutes: 330, spansWindow: true, mismatch: undefined });
      expect(window.snapshot.verified).toBe(true);
    } finally {
      await close(server);
    }
  });

  it('reports candles outside the window as a wrong-window answer with the offset they show', async () => {
    // The quirk with the correction off: the answer is for the window 5h30 earlier.
    const server = await serve(() => ({
      status: 200,
      body: {
        candles: [
          candle('2026-11-25T03:45:00+05:30'),
          candle('2026-11-25T03:46:00+05:30'),
          candle('2026-11-25T03:47:00+05:30'),
        ],
      },
    }));
    try {
      const config = Object.assign(new AppConfig(), {
        TICKER_SERVICE_URL: urlOf(server),
        TICKER_WINDOW_SHIFT_MINUTES: 0,
      });
      const answer = await tickerProvider(config).fetch(42, from, to);
      expect(answer).toEqual({
        candles: [],
        shiftMinutes: 0,
        spansWindow: false,
        mismatch: { earlier: 3, later: 0, offsetMinutes: 330, retryable: false },
      });
    } finally {
      await close(server);
    }
  });

  it('classifies 404, 502 with Retry-After, 400, refused connections and timeouts', async () => {
    let status = 404;
    const server = await serve(() => ({ status, body: { detail: 'x' }, headers: { 'retry-after': '3' } }));
    const config = Object.assign(new AppConfig(), {
      TICKER_SERVICE_URL: urlOf(server),
      HISTORY_TIMEOUT_MS: 200,
    });
    const provider = tickerProvider(config);
    const failure = async (): Promise<HistoryError> =>
      provider.fetch(1, from, to).then(
        () => Promise.reject(new Error('resolved')),
        (e: HistoryError) => e,
      );
    try {
      expect((await failure()).kind).toBe('unsupported');
      status = 502;
      expect(await failure()).toMatchObject({ kind: 'transient', retryAfterMs: 3000 });
      status = 400;
      expect((await failure()).kind).toBe('invalid');
    } finally {
      await close(server);
    }
    expect((await failure()).kind).toBe('transient');
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    try {
      const slow = tickerProvider(
        Object.assign(new AppConfig(), { TICKER_SERVICE_URL: urlOf(silent), HISTORY_TIMEOUT_MS: 150 }),
      );
      await expect(slow.fetch(1, from, to)).rejects.toMatchObject({
        kind: 'transient',
        message: expect.stringContaining('150 ms'),
      });
    } finally {
      silent.closeAllConnections();
      await close(silent);
    }
  });
});

describe('upstream candles that are not numbers', () => {
  it.each([
    ['a string price', { open: '1.5' }],
    ['a missing close', { close: undefined }],
    ['a negative volume', { volume: -3 }],
  ])('refuses %s as invalid, storing none of the answer', async (_what, patch) => {
    const good = { date: '2026-11-25T09:15:00+05:30', open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 };
    const server = await serve(() => ({
      status: 200,
      body: { candles: [good, { ...good, date: '2026-11-25T09:16:00+05:30', ...patch }] },
    }));
    try {
      const provider = tickerProvider(Object.assign(new AppConfig(), { TICKER_SERVICE_URL: urlOf(server) }));
      await expect(provider.fetch(1, from, to)).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('2026-11-25T03:46:00.000Z'),
      });
    } finally {
      await close(server);
    }
  });

  it('refuses a Kite candle with a non-numeric price', async () => {
    const server = await serve(() => ({
      status: 200,
      body: { status: 'success', data: { candles: [['2026-11-25T09:15:00+0530', 1, 'x', 0.5, 1.5, 10, 5]] } },
    }));
    try {
      const config = Object.assign(new AppConfig(), {
        KITE_BASE_URL: urlOf(server),
        KITE_API_KEY: 'k',
        KITE_ACCESS_TOKEN: 't',
      });
      await expect(new KiteHistoryProvider(config).fetch(1, from, to)).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringContaining('high is not a number'),
      });
    } finally {
      await close(server);
    }
  });
});

describe('KiteHistoryProvider', () => {
  it('sends IST wall clock, parses +0530 and reports 403 and the 200 rate-limit answer', async () => {
    let mode: 'ok' | 'expired' | 'throttled' = 'ok';
    let asked: URL | undefined;
    const server = await serve((url) => {
      asked = url;
      if (mode === 'expired') return { status: 403, body: { status: 'error', error_type: 'TokenException' } };
      if (mode === 'throttled')
        return { status: 200, body: { status: 'error', message: 'Too many requests' } };
      return {
        status: 200,
        body: {
          status: 'success',
          data: {
            candles: [
              ['2026-11-25T09:15:00+0530', 1, 2, 0.5, 1.5, 75, 900],
              ['2026-11-25T09:18:00+0530', 1, 2, 0.5, 1.5, 75, 900],
            ],
          },
        },
      };
    });
    try {
      const config = Object.assign(new AppConfig(), {
        KITE_BASE_URL: urlOf(server),
        KITE_API_KEY: 'k',
        KITE_ACCESS_TOKEN: 't',
      });
      const provider = new KiteHistoryProvider(config);
      const { candles, spansWindow, mismatch } = await provider.fetch(7, from, to);
      expect(spansWindow).toBe(true);
      expect(mismatch).toBeUndefined();
      expect(asked?.pathname).toBe('/instruments/historical/7/minute');
      expect(asked?.searchParams.get('from')).toBe('2026-11-25 09:15:00');
      expect(asked?.searchParams.get('to')).toBe('2026-11-25 09:17:00');
      expect(candles).toHaveLength(1);
      expect(candles[0]).toMatchObject({
        time: new Date('2026-11-25T03:45:00Z'),
        volume: 75,
        oi: 900,
        iv: null,
      });
      mode = 'expired';
      await expect(provider.fetch(7, from, to)).rejects.toMatchObject({ kind: 'auth' });
      mode = 'throttled';
      await expect(provider.fetch(7, from, to)).rejects.toMatchObject({ kind: 'transient' });
    } finally {
      await close(server);
    }
  });

  it('takes Kite as verified but still reports a candle outside the window as a wrong-window answer', async () => {
    const server = await serve(() => ({
      status: 200,
      body: {
        status: 'success',
        data: {
          candles: [
            ['2026-11-25T09:15:00+0530', 1, 2, 0.5, 1.5, 75, 900],
            ['2026-11-25T14:45:00+0530', 1, 2, 0.5, 1.5, 75, 900],
          ],
        },
      },
    }));
    try {
      const config = Object.assign(new AppConfig(), {
        KITE_BASE_URL: urlOf(server),
        KITE_API_KEY: 'k',
        KITE_ACCESS_TOKEN: 't',
      });
      const answer = await new KiteHistoryProvider(config).fetch(7, from, to);
      expect(answer).toMatchObject({
        shiftMinutes: 0,
        spansWindow: false,
        mismatch: { earlier: 0, later: 1, offsetMinutes: null, retryable: false },
      });
      expect(answer.candles.map((c) => c.time.toISOString())).toEqual(['2026-11-25T03:45:00.000Z']);
    } finally {
      await close(server);
    }
  });
});
