import 'reflect-metadata';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { HistoryError } from '../backfill/history-provider';
import { KiteHistoryProvider } from '../backfill/kite-history.provider';
import { TickerHistoryProvider } from '../backfill/ticker-history.provider';
import { AppConfig } from '../app.settings';
import {
  TickerReadError,
  TickerSubscriptionsClient,
} from '../subscription-events/ticker-subscriptions.client';
import { probelessTickerWindow } from '../../test/support/ticker-window';
import { waitFor } from '../../test/support/wait-for';

const tickerProvider = (config: AppConfig): TickerHistoryProvider =>
  new TickerHistoryProvider(config, probelessTickerWindow(config));

const MIB = 1024 * 1024;
const CAP = 1 * MIB;

interface Streamer {
  server: Server;
  url: string;
  /** Bytes the server managed to write before the client hung up (or all of them). */
  written(): number;
  finished(): boolean;
  close(): Promise<void>;
}

/**
 * An upstream that answers 200 with a valid JSON body of `totalBytes` (`prefix`, then padding), sent
 * in chunks as fast as the client reads them, with or without a Content-Length.
 */
async function streamer(
  prefix: string,
  totalBytes: number,
  declareLength: boolean,
  status = 200,
): Promise<Streamer> {
  let written = 0;
  let finished = false;
  const server = createServer((_req, res) => {
    const suffix = '"}';
    const padding = totalBytes - prefix.length - suffix.length;
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(declareLength ? { 'content-length': String(totalBytes) } : {}),
    });
    res.write(prefix);
    written += prefix.length;
    const chunk = 'x'.repeat(64 * 1024);
    let left = padding;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        const part = left >= chunk.length ? chunk : chunk.slice(0, left);
        left -= part.length;
        written += part.length;
        if (!res.write(part)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) {
        res.end(suffix);
        written += suffix.length;
        finished = true;
      }
    };
    res.on('error', () => undefined);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    written: () => written,
    finished: () => finished,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const config = (url: string): AppConfig =>
  Object.assign(new AppConfig(), {
    TICKER_SERVICE_URL: url,
    KITE_BASE_URL: url,
    KITE_API_KEY: 'k',
    KITE_ACCESS_TOKEN: 't',
    HISTORY_TIMEOUT_MS: 20_000,
    UPSTREAM_MAX_BODY_BYTES: CAP,
  });

const from = new Date('2025-11-03T03:45:00Z');
const to = new Date('2025-11-03T04:45:00Z');
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('expected the read to fail'),
    (error: unknown) => error,
  );

describe('upstream bodies are read with a byte cap (UPSTREAM_MAX_BODY_BYTES)', () => {
  const servers: Streamer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });
  const start = async (...args: Parameters<typeof streamer>): Promise<Streamer> => {
    const s = await streamer(...args);
    servers.push(s);
    return s;
  };

  it.each([
    ['with a Content-Length', true],
    ['without a Content-Length (chunked)', false],
  ])(
    'the ticker /history: an answer over the cap is an invalid error, read no further (%s)',
    async (_what, declare) => {
      const upstream = await start('{"candles":[],"pad":"', 64 * MIB, declare);
      const error = await failure(tickerProvider(config(upstream.url)).fetch(42, from, to));
      expect(error).toBeInstanceOf(HistoryError);
      expect(error).toMatchObject({ kind: 'invalid' });
      expect((error as Error).message).toMatch(/larger than 1048576 bytes \(UPSTREAM_MAX_BODY_BYTES\)/);
      // The client hung up: far less than the 64 MiB was ever sent.
      await waitFor('the upstream stops writing', () => upstream.finished() || upstream.written() < 16 * MIB);
      expect(upstream.finished()).toBe(false);
    },
  );

  it('Kite historical: the same cap', async () => {
    const upstream = await start('{"status":"success","data":{"candles":[]},"pad":"', 64 * MIB, false);
    const error = await failure(new KiteHistoryProvider(config(upstream.url)).fetch(42, from, to));
    expect(error).toMatchObject({ kind: 'invalid' });
    expect((error as Error).message).toMatch(/UPSTREAM_MAX_BODY_BYTES/);
    expect(upstream.finished()).toBe(false);
  });

  it('an error page over the cap is still a clear error of its status, never read whole', async () => {
    const upstream = await start('<html>', 64 * MIB, false, 502);
    const error = await failure(tickerProvider(config(upstream.url)).fetch(42, from, to));
    expect(error).toMatchObject({ kind: 'transient', status: 502 });
    expect(upstream.finished()).toBe(false);
  });

  it('the ticker subscription list: a page over the cap fails the read, nothing is changed', async () => {
    const upstream = await start('[{"instrument_token":1,"status":"active","pad":"', 64 * MIB, false);
    const error = await failure(new TickerSubscriptionsClient(config(upstream.url)).fetchActive());
    expect(error).toBeInstanceOf(TickerReadError);
    expect((error as Error).message).toMatch(/larger than 1048576 bytes \(UPSTREAM_MAX_BODY_BYTES\)/);
    expect(upstream.finished()).toBe(false);
  });

  it('reads an answer under the cap as before', async () => {
    const upstream = await start('{"candles":[],"pad":"', CAP - 1, true);
    await expect(tickerProvider(config(upstream.url)).fetch(42, from, to)).resolves.toMatchObject({
      candles: [],
    });
  });
});
