import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Clock, MarketCalendar, MINUTE_MS, toIstIso } from '../../src/contracts/market-time';
import { TickerHistoryCandle } from '../../src/contracts/ticker.contracts';

export interface StubOptions {
  clock: Clock;
  calendar: MarketCalendar;
  latencyMs?: number;
  /** Shift the answered window 5h30 earlier, like the live ticker. */
  quirk?: boolean;
  unknownTokens?: number[];
}

/**
 * A minimal ticker `GET /history` for the backfill tests: deterministic candles per token and minute,
 * some minutes without trades, and knobs for failures.
 */
export class HistoryStub {
  private server?: Server;
  url = '';
  /** Every request received, with its arrival time (ms). */
  requests: { token: number; fromTs: number; toTs: number; status: number; at: number }[] = [];
  /** Statuses answered, one per request, before normal answers resume. */
  failures: number[] = [];
  retryAfterSeconds?: number;
  down = false;
  /** Tokens `GET /subscriptions` (the reconciler's source) lists as active. */
  subscriptions: number[] = [];
  subscriptionRequests = 0;

  constructor(readonly options: StubOptions) {}

  /** Candle of `token` at minute `ms`, or undefined for an illiquid minute. */
  static candle(token: number, ms: number): TickerHistoryCandle | undefined {
    const n = Math.floor(ms / MINUTE_MS);
    if ((n + token) % 13 === 0) return undefined;
    const base = 100 + (token % 97) + (n % 50) / 4;
    return {
      date: toIstIso(new Date(ms)),
      open: base,
      high: base + 1.5,
      low: base - 0.75,
      close: base + 0.25,
      volume: 75 * ((n % 11) + 1),
      oi: 10_000 + (n % 17) * 75,
      iv: 0.12 + (n % 5) / 100,
      delta: 0.5,
      gamma: 0.001,
      theta: -10,
      vega: 9,
      underlying: 24_500 + (n % 20),
    };
  }

  /** Every candle the stub serves in `[from, to)`, up to the clock's last finished minute. */
  expected(token: number, from: Date, to: Date): TickerHistoryCandle[] {
    const last = Math.min(
      to.getTime(),
      Math.floor(this.options.clock.now().getTime() / MINUTE_MS) * MINUTE_MS,
    );
    return this.options.calendar
      .sessionMinutes(from, new Date(last))
      .map((minute) => HistoryStub.candle(token, minute.getTime()))
      .filter((candle): candle is TickerHistoryCandle => candle !== undefined);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (this.down) {
      req.socket.destroy();
      return;
    }
    if (url.pathname === '/subscriptions') {
      this.subscriptionRequests++;
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const page = this.subscriptions.slice(offset, offset + limit).map((token) => ({
        instrument_token: token,
        tradingsymbol: `SIM${token}`,
        segment: 'NFO-OPT',
        status: 'active',
        requested_mode: 'FULL',
        account_id: null,
        created_at: '2026-11-20T00:00:00Z',
        updated_at: '2026-11-20T00:00:00Z',
      }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
      return;
    }
    if (url.pathname !== '/history') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"not found"}');
      return;
    }
    const token = Number(url.searchParams.get('instrument_token'));
    const fromTs = Number(url.searchParams.get('from_ts'));
    const toTs = Number(url.searchParams.get('to_ts'));
    const failure = this.failures.shift();
    const status = failure ?? (this.options.unknownTokens?.includes(token) ? 404 : 200);
    this.requests.push({ token, fromTs, toTs, status, at: Date.now() });
    // Unref'd: an answer nobody waits for any more must not keep the test process alive.
    if (this.options.latencyMs)
      await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs).unref());
    if (res.destroyed) return;
    if (status !== 200) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (this.retryAfterSeconds !== undefined) headers['retry-after'] = String(this.retryAfterSeconds);
      res.writeHead(status, headers).end(JSON.stringify({ detail: `stub ${status}` }));
      return;
    }
    const shift = this.options.quirk ? 330 * MINUTE_MS : 0;
    // Inclusive `to_ts`, like Kite.
    const candles = this.expected(
      token,
      new Date(fromTs * 1000 - shift),
      new Date(toTs * 1000 - shift + MINUTE_MS),
    );
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        instrument_token: token,
        tradingsymbol: `SIM${token}`,
        segment: 'NFO-OPT',
        interval: 'minute',
        from_ts: fromTs,
        to_ts: toTs,
        candles,
      }),
    );
  }
}
