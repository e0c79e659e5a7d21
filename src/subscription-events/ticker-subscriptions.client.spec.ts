import 'reflect-metadata';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AppConfig } from '../app.settings';
import { TickerReadError, TickerSubscriptionsClient } from './ticker-subscriptions.client';

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** The error a client reading from `server` fails with. */
async function readError(server: Server): Promise<TickerReadError> {
  const client = new TickerSubscriptionsClient(
    Object.assign(new AppConfig(), { TICKER_SERVICE_URL: urlOf(server), HISTORY_TIMEOUT_MS: 2000 }),
  );
  const error = await client.fetchActive().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TickerReadError);
  return error as TickerReadError;
}

describe('TickerSubscriptionsClient Retry-After', () => {
  it('carries the Retry-After of a 429 on the error', async () => {
    const server = await serve((_req, res) => res.writeHead(429, { 'retry-after': '7' }).end());
    try {
      const error = await readError(server);
      expect(error.retryAfterMs).toBe(7000);
      expect(error.message).toContain('answered 429');
    } finally {
      await close(server);
    }
  });

  it('carries the Retry-After of a 503 given as an HTTP date', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    const server = await serve((_req, res) => res.writeHead(503, { 'retry-after': at }).end());
    try {
      const error = await readError(server);
      // HTTP dates have whole seconds: about two minutes from now.
      expect(error.retryAfterMs).toBeGreaterThan(115_000);
      expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
    } finally {
      await close(server);
    }
  });

  it('has no Retry-After for other statuses or when the header is missing', async () => {
    let status = 500;
    const server = await serve((_req, res) =>
      res.writeHead(status, status === 500 ? { 'retry-after': '7' } : {}).end(),
    );
    try {
      expect((await readError(server)).retryAfterMs).toBeUndefined();
      status = 429;
      expect((await readError(server)).retryAfterMs).toBeUndefined();
    } finally {
      await close(server);
    }
  });
});

describe('TickerSubscriptionsClient entries', () => {
  it.each([
    [
      'a NUL in a tradingsymbol (a text column refuses it)',
      { tradingsymbol: 'NIFTY\u0000CE' },
      /tradingsymbol/,
    ],
    ['an overlong segment', { segment: 'X'.repeat(33) }, /segment/],
    ['a token beyond what a JS number carries exactly', { instrument_token: 2 ** 53 }, /instrument_token/],
  ])('fails the whole read on %s, naming the field', async (_what, entry, field) => {
    const body = JSON.stringify([{ instrument_token: 1, status: 'active', ...entry }]);
    const server = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(body),
    );
    try {
      expect((await readError(server)).message).toMatch(field);
    } finally {
      await close(server);
    }
  });
});
