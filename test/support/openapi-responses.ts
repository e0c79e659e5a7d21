import { Test } from 'supertest';
import { OpenApiDocument, OpenApiResponseValidator, ReceivedResponse } from './openapi-validator';

/**
 * Every response that a test receives from the service, through `fetch` or supertest, is checked
 * against the OpenAPI document that same service serves at `/docs-json`
 * (OpenApiResponseValidator): a response the document does not describe fails the request (the
 * `fetch` rejects, the supertest assertion fails) and, in case a test swallowed that, the test file.
 * The harnesses register each service they start (startTestApp, startServiceProcess); the end-to-end
 * project installs the hooks for every test file (jest.config.js, test/support/e2e-setup.ts).
 */

const realFetch: typeof fetch = globalThis.fetch;
const services = new Map<string, Promise<OpenApiResponseValidator>>();
const problems: string[] = [];

/** Validates every later response from `baseUrl`'s origin against the document it serves now. */
export function validateResponsesFrom(baseUrl: string): void {
  const origin = new URL(baseUrl).origin;
  const loading = realFetch(`${origin}/docs-json`).then(async (response) => {
    if (!response.ok) throw new Error(`${origin}/docs-json answered ${response.status}`);
    return new OpenApiResponseValidator((await response.json()) as OpenApiDocument);
  });
  // Reported when a response needs it.
  loading.catch(() => undefined);
  services.set(origin, loading);
}

/** Stops validating `baseUrl`'s origin (its port may serve something else next). */
export function forgetResponsesFrom(baseUrl: string): void {
  services.delete(new URL(baseUrl).origin);
}

/** The problems of one response (empty for a service not registered), also kept for the file's end. */
export async function checkResponse(response: ReceivedResponse): Promise<string[]> {
  const origin = new URL(response.url).origin;
  const service = services.get(origin);
  if (!service) return [];
  let found: string[];
  try {
    found = (await service).validate(response);
  } catch (error) {
    found = [`${response.method} ${response.url}: cannot validate: ${(error as Error).message}`];
  }
  problems.push(...found);
  return found;
}

/** Takes the problems recorded so far (a test that provokes some on purpose clears them). */
export function takeRecordedProblems(): string[] {
  return problems.splice(0);
}

function failure(found: string[]): Error {
  return new Error(`response not as the OpenAPI document says:\n  ${found.join('\n  ')}`);
}

function headersOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => (out[name] = value));
  return out;
}

// A body that never ends (server-sent events) cannot be read whole; its media type is still checked.
const STREAMING = /^text\/event-stream/;

async function validatedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await realFetch(input, init);
  const url = response.url || (input instanceof Request ? input.url : String(input));
  if (!services.has(new URL(url).origin)) return response;
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  const headers = headersOf(response.headers);
  const body = STREAMING.test(headers['content-type'] ?? '') ? undefined : await response.clone().text();
  const found = await checkResponse({ method, url, status: response.status, headers, body });
  if (found.length > 0) throw failure(found);
  return response;
}

interface SupertestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
  body?: unknown;
  redirects?: string[];
}

type Assert = (
  this: Test,
  error: Error | null,
  res: SupertestResponse,
  fn: (error?: Error | null, res?: SupertestResponse) => void,
) => void;

function patchSupertest(): void {
  const prototype = Test.prototype as unknown as {
    assert: Assert;
    __openapi?: true;
    method: string;
    url: string;
  };
  if (prototype.__openapi) return;
  const original = prototype.assert;
  prototype.__openapi = true;
  prototype.assert = function (this: Test & { method: string; url: string }, error, res, fn) {
    if (error || !res) return original.call(this, error, res, fn);
    const url = res.redirects?.length ? res.redirects[res.redirects.length - 1] : this.url;
    const headers = Object.fromEntries(
      Object.entries(res.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : value,
      ]),
    );
    const body =
      typeof res.text === 'string' ? res.text : Buffer.isBuffer(res.body) ? res.body.toString() : undefined;
    checkResponse({ method: this.method, url, status: res.status, headers, body }).then(
      (found) => (found.length > 0 ? fn(failure(found), res) : original.call(this, error, res, fn)),
      (unexpected: Error) => fn(unexpected, res),
    );
  };
}

/** Installs the hooks in this test file's environment; the file fails if any response was wrong. */
export function installResponseValidation(): void {
  globalThis.fetch = validatedFetch as typeof fetch;
  patchSupertest();
  afterAll(() => {
    const all = takeRecordedProblems();
    if (all.length > 0) throw failure(all);
  });
}
