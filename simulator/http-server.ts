// The ticker's REST surface on node:http (CONTRACTS.md section 3), plus the fault knobs and test-only
// /admin routes. Handlers parse, apply the faults, and hand over to the core.

import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SubscriptionStatus } from '../src/contracts/ticker.contracts';
import { SimulatorCore, SimulatorError } from './core';
import { parseHistoryQuery } from './history';
import { instrumentListCsv } from './instruments';
import type { FaultRoute } from './knobs';
import { uniform } from './random';
import { toMs } from './tick-feed';

const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const FAULT_STREAM = 9_001;

export interface HttpServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** FastAPI-style error body, as the ticker sends it. */
function fail(
  res: ServerResponse,
  status: number,
  detail: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, { detail }, headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimulatorError(400, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SimulatorError(400, 'request body is not valid JSON');
  }
}

function parseIntParam(params: URLSearchParams, name: string, fallback: number, min: number): number {
  const text = params.get(name);
  if (text === null || text === '') return fallback;
  if (!/^-?\d+$/.test(text) || Number(text) < min) {
    throw new SimulatorError(400, `${name} must be an integer >= ${min}`);
  }
  return Number(text);
}

export async function startHttpServer(core: SimulatorCore, host: string, port: number): Promise<HttpServer> {
  const timers = new Set<NodeJS.Timeout>();
  let faultDraws = 0;
  let closing = false;

  /** A sleep that stop() can cancel, so no timer outlives the server. */
  const sleep = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, ms);
          timers.add(timer);
        });

  /** Draws the injected 429/502 for a route; true when the response was sent. */
  const injectFault = (route: FaultRoute, res: ServerResponse): boolean => {
    const knobs = core.knobs;
    if (!knobs.faultRoutes.includes(route) || (knobs.fail429Rate === 0 && knobs.fail502Rate === 0))
      return false;
    const draw = uniform(core.model.seed, FAULT_STREAM, ++faultDraws);
    const counters = route === 'history' ? core.stats.history : core.stats.subscriptions;
    if (draw < knobs.fail429Rate) {
      counters.fault429++;
      fail(res, 429, 'Too many requests', { 'retry-after': String(knobs.retryAfterSeconds) });
      return true;
    }
    if (draw < knobs.fail429Rate + knobs.fail502Rate) {
      counters.fault502++;
      fail(res, 502, 'Kite API error: upstream failure (simulated)');
      return true;
    }
    return false;
  };

  const listSubscriptions = (url: URL, res: ServerResponse): void => {
    const perMinute = core.knobs.subscriptionsRatePerMin;
    const retryInMs = core.listLimiter.take(Date.now(), perMinute);
    if (retryInMs > 0) {
      core.stats.subscriptions.rateLimited429++;
      const retryAfter = String(Math.max(1, Math.ceil(retryInMs / 1000)));
      fail(res, 429, `rate limit exceeded: ${perMinute} per minute`, { 'retry-after': retryAfter });
      return;
    }
    if (injectFault('subscriptions', res)) return;
    const statusText = url.searchParams.get('status');
    if (statusText !== null && statusText !== 'active' && statusText !== 'inactive') {
      throw new SimulatorError(400, 'status must be "active" or "inactive"');
    }
    const limit = Math.min(parseIntParam(url.searchParams, 'limit', DEFAULT_LIMIT, 1), MAX_LIMIT);
    const offset = parseIntParam(url.searchParams, 'offset', 0, 0);
    send(
      res,
      200,
      core.listSubscriptions((statusText ?? undefined) as SubscriptionStatus | undefined, limit, offset),
    );
  };

  const history = async (url: URL, res: ServerResponse): Promise<void> => {
    const stats = core.stats.history;
    stats.requests++;
    const parsed = parseHistoryQuery(url.searchParams);
    if (!parsed.ok) {
      stats.badRequest++;
      fail(res, 400, parsed.message);
      return;
    }
    if (injectFault('history', res)) return;
    if (core.knobs.downTokens.includes(parsed.query.token)) {
      stats.down502++;
      fail(res, 502, `Kite API error: instrument ${parsed.query.token} unavailable (simulated outage)`);
      return;
    }
    const wait = core.historyLimiter.reserve(Date.now(), core.knobs.historyMaxWaitMs);
    stats.waiting++;
    try {
      // Like the ticker: wait for a slot, and give up with a 502 when the wait would be too long.
      await sleep(wait ?? core.knobs.historyMaxWaitMs);
    } finally {
      stats.waiting--;
    }
    stats.maxWaitMs = Math.max(stats.maxWaitMs, wait ?? core.knobs.historyMaxWaitMs);
    if (wait === undefined) {
      stats.waitTimeout502++;
      fail(res, 502, 'Kite API error: rate limit wait exceeded');
      return;
    }
    try {
      const body = core.history(parsed.query);
      stats.ok++;
      send(res, 200, body);
    } catch (error) {
      if (error instanceof SimulatorError && error.status === 404) stats.notFound++;
      throw error;
    }
  };

  const admin = async (req: IncomingMessage, url: URL, res: ServerResponse): Promise<void> => {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /admin/knobs':
        return send(res, 200, core.knobs);
      case 'POST /admin/knobs': {
        const body = await readJson(req);
        try {
          return send(res, 200, core.setKnobs(body as Record<string, never>));
        } catch (error) {
          throw new SimulatorError(400, (error as Error).message);
        }
      }
      case 'POST /admin/reset':
        core.reset();
        return send(res, 200, { status: 'reset' });
      case 'GET /admin/stats':
        return send(res, 200, core.stats);
      case 'GET /admin/instruments':
        return send(res, 200, core.universe.instruments);
      case 'POST /admin/publish-minute': {
        const body = (await readJson(req)) as { instrument_token?: unknown; minute?: unknown };
        if (typeof body.instrument_token !== 'number' || !core.universe.get(body.instrument_token)) {
          throw new SimulatorError(404, `instrument ${String(body.instrument_token)} not found`);
        }
        if (typeof body.minute !== 'string' && typeof body.minute !== 'number') {
          throw new SimulatorError(400, 'minute must be an ISO instant or epoch milliseconds');
        }
        const published = await core.feed.publishMinute(body.instrument_token, toMs(body.minute));
        return send(res, 200, { published });
      }
      default:
        return fail(res, 404, 'Not Found');
    }
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/health') return send(res, 200, { status: 'ok' });
    if (path.startsWith('/admin/')) return admin(req, url, res);
    await sleep(core.knobs.latencyMs);
    if (closing) return;
    if (path === '/subscriptions') {
      if (req.method === 'GET') return listSubscriptions(url, res);
      if (req.method === 'POST') {
        const body = await readJson(req);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new SimulatorError(400, 'body must be a JSON object');
        }
        const { instrument_token, requested_mode, account_id } = body as Record<string, unknown>;
        return send(
          res,
          201,
          await core.subscribe(instrument_token, requested_mode ?? undefined, account_id ?? null),
        );
      }
      return fail(res, 405, 'Method Not Allowed');
    }
    const match = /^\/subscriptions\/([^/]+)$/.exec(path);
    if (match) {
      if (req.method !== 'DELETE') return fail(res, 405, 'Method Not Allowed');
      const token = /^\d+$/.test(match[1]) ? Number(match[1]) : NaN;
      if (!Number.isSafeInteger(token) || token <= 0)
        throw new SimulatorError(400, 'instrument token must be a positive integer');
      return send(res, 200, await core.unsubscribe(token));
    }
    if (path === '/history') {
      if (req.method !== 'GET') return fail(res, 405, 'Method Not Allowed');
      return history(url, res);
    }
    const list = /^\/instruments(?:\/([A-Z]+))?$/.exec(path);
    if (list) {
      if (req.method !== 'GET') return fail(res, 405, 'Method Not Allowed');
      const text = instrumentListCsv(core.universe, list[1]);
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    return fail(res, 404, 'Not Found');
  };

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof SimulatorError) {
        fail(res, error.status, error.message);
        return;
      }
      core.log(`${req.method} ${req.url} failed: ${(error as Error).stack ?? String(error)}`);
      fail(res, 500, 'Internal Server Error');
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    server,
    port: (server.address() as AddressInfo).port,
    async close() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
