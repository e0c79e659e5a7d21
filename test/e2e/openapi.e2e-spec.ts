import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { startTestApp, TestApp } from '../support/app-harness';
import {
  forgetResponsesFrom,
  takeRecordedProblems,
  validateResponsesFrom,
} from '../support/openapi-responses';
import { OpenApiDocument, OpenApiResponseValidator, ReceivedResponse } from '../support/openapi-validator';

const REDOCLY = resolve(__dirname, '../../node_modules/@redocly/cli/bin/cli.js');
const TOKEN = 13660418;

interface Problem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer: string }[];
}

type Operation = {
  security?: Record<string, string[]>[];
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: { $ref?: string } }> }>;
  requestBody?: unknown;
};

describe('the OpenAPI document, as third-party tools read it', () => {
  let app: TestApp;
  let document: OpenApiDocument & { servers?: { url: string }[] };
  let directory: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { API_KEY: 'openapi-key-123456' } });
    document = (await (await fetch(`${app.url}/docs-json`)).json()) as typeof document;
    directory = mkdtempSync(join(tmpdir(), 'openapi-'));
  });

  afterAll(async () => {
    rmSync(directory, { recursive: true, force: true });
    await app?.close();
  });

  const operations = (): [string, string, Operation][] =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]): [string, string, Operation] => [
        path,
        method,
        operation as unknown as Operation,
      ]),
    );

  it("has no error under Redocly's recommended rules", async () => {
    const file = join(directory, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    // The linter exits 1 on any error; its JSON report says which.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [REDOCLY, 'lint', '--extends=recommended', '--format=json', file],
      {
        env: {
          PATH: process.env.PATH ?? '',
          REDOCLY_TELEMETRY: 'off',
          REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const report = JSON.parse(stdout) as { totals: { errors: number }; problems: Problem[] };
    const errors = report.problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(errors).toEqual([]);
    expect(report.totals.errors).toBe(0);
  }, 60_000);

  it('declares security and the shared error answers on every operation', () => {
    expect(document.servers).toEqual([{ url: '/' }]);
    const components = document.components as Record<string, Record<string, unknown>>;
    expect(components.headers['Retry-After']).toEqual(
      expect.objectContaining({ required: true, schema: expect.objectContaining({ type: 'integer' }) }),
    );
    for (const [path, method, operation] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const udf = path.startsWith('/udf/');
      expect([where, operation.security]).toEqual([where, method === 'get' ? [] : [{ 'api-key': [] }]]);
      if (method !== 'get')
        expect([where, operation.responses['401']]).toEqual([
          where,
          { $ref: '#/components/responses/Unauthorized' },
        ]);
      if (operation.requestBody)
        expect([where, operation.responses['413']]).toEqual([
          where,
          { $ref: '#/components/responses/PayloadTooLarge' },
        ]);
      if (!path.startsWith('/health/'))
        expect([where, operation.responses['503']]).toEqual([
          where,
          { $ref: `#/components/responses/${udf ? 'UdfServiceUnavailable' : 'ServiceUnavailable'}` },
        ]);
      // Every route refuses parameters it does not declare: a 400 on every operation.
      expect([where, operation.responses['400']]).toEqual([where, expect.anything()]);
      for (const status of ['400', '404']) {
        const response = operation.responses[status];
        if (!response) continue;
        const body = udf ? 'UdfErrorDto' : status === '400' ? 'ValidationErrorDto' : 'HttpErrorDto';
        const described = response.$ref
          ? (components.responses[response.$ref.split('/').pop()!] as Operation['responses'][string])
          : response;
        expect([where, status, described.content?.['application/json'].schema]).toEqual([
          where,
          status,
          { $ref: `#/components/schemas/${body}` },
        ]);
      }
    }
    // A reference is made nullable as anyOf [reference, null], never as nullable beside allOf
    // (an allOf of one reference alone, which carries a description, is fine).
    const nullableBesideAllOf: string[] = [];
    JSON.stringify(document, (key, value: unknown) => {
      const schema = value as { nullable?: unknown; allOf?: unknown };
      if (value && typeof value === 'object' && schema.nullable === true && schema.allOf)
        nullableBesideAllOf.push(key);
      return value;
    });
    expect(nullableBesideAllOf).toEqual([]);
  });

  it('describes the error answers the service sends (each request here is validated against it)', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${app.url}/api/v1/backfill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'openapi-key-123456', ...headers },
        body,
      });
    expect((await post('{"instrument_token":1}', { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await post(JSON.stringify({ instrument_token: 1, pad: 'x'.repeat(200_000) }))).status).toBe(413);
    expect((await post('{"instrument_token":')).status).toBe(400);
    expect((await post('{"instrument_token":"1"}')).status).toBe(400);
    expect((await fetch(`${app.url}/api/v1/backfill/jobs/bf-1-2-3`)).status).toBe(404);
    expect((await fetch(`${app.url}/api/v1/options/NIFTY/chain?expiry=2025-11-25`)).status).toBe(404);
    expect((await fetch(`${app.url}/udf/history?symbol=${TOKEN}&resolution=7&to=1`)).status).toBe(400);
    expect((await fetch(`${app.url}/udf/symbols?symbol=NOSUCH`)).status).toBe(404);
    expect((await fetch(`${app.url}/`, { redirect: 'manual' })).status).toBe(302);
  });

  it('fails every request of an end-to-end test, by fetch or supertest, whose answer the document does not describe', async () => {
    // A service whose document says `a` is an integer, and which answers a string.
    const server = createServer((req, res) => {
      const body =
        req.url === '/docs-json'
          ? {
              openapi: '3.0.0',
              paths: {
                '/thing': {
                  get: {
                    responses: {
                      '200': {
                        description: 'a thing',
                        content: {
                          'application/json': {
                            schema: { type: 'object', properties: { a: { type: 'integer' } } },
                          },
                        },
                      },
                    },
                  },
                },
              },
            }
          : { a: 'not an integer' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      validateResponsesFrom(url);
      await expect(fetch(`${url}/thing`)).rejects.toThrow(/body\/a must be integer/);
      await expect(request(url).get('/thing')).rejects.toThrow(/body\/a must be integer/);
      expect(takeRecordedProblems()).toHaveLength(2);
    } finally {
      forgetResponsesFrom(url);
      await new Promise((done) => server.close(done));
    }
  });

  describe('the response validator the end-to-end tests run every answer through', () => {
    let coverage: ReceivedResponse;

    beforeAll(async () => {
      const response = await fetch(`${app.url}/api/v1/instruments/${TOKEN}/coverage`);
      coverage = {
        method: 'GET',
        url: response.url,
        status: response.status,
        headers: { 'content-type': response.headers.get('content-type') ?? undefined },
        body: await response.text(),
      };
      expect(JSON.parse(coverage.body!)).toMatchObject({ unsupported: null });
    });

    const validator = (patch?: (copy: OpenApiDocument) => void): OpenApiResponseValidator => {
      const copy = structuredClone(document);
      patch?.(copy);
      return new OpenApiResponseValidator(copy);
    };

    it('passes an answer as documented', () => {
      expect(validator().validate(coverage)).toEqual([]);
    });

    it('refuses null through a reference made nullable with nullable beside allOf, as OpenAPI 3.0 reads it', () => {
      const problems = validator((copy) => {
        const schema = copy.components!.schemas.CoverageDto as { properties: Record<string, unknown> };
        schema.properties.unsupported = {
          nullable: true,
          type: 'object',
          allOf: [{ $ref: '#/components/schemas/UnsupportedDto' }],
        };
      }).validate(coverage);
      expect(problems).toEqual([expect.stringContaining('body/unsupported must be object')]);
    });

    it('refuses an undocumented status, property or media type, and a 503 without Retry-After', () => {
      const check = validator();
      expect(check.validate({ ...coverage, status: 500 })).toEqual([
        expect.stringContaining('status 500 is not documented'),
      ]);
      const body = JSON.stringify({ ...JSON.parse(coverage.body!), surprise: 1 });
      expect(check.validate({ ...coverage, body })).toEqual([
        expect.stringContaining('must NOT have additional properties'),
      ]);
      expect(check.validate({ ...coverage, headers: { 'content-type': 'text/html' } })).toEqual([
        expect.stringContaining('content type text/html not documented'),
      ]);
      const unavailable = {
        ...coverage,
        status: 503,
        body: JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'database down' }),
      };
      expect(check.validate(unavailable)).toEqual([
        expect.stringContaining('required header Retry-After missing'),
      ]);
      expect(
        check.validate({ ...unavailable, headers: { ...unavailable.headers, 'retry-after': '5' } }),
      ).toEqual([]);
      expect(
        check.validate({ ...unavailable, headers: { ...unavailable.headers, 'retry-after': 'soon' } }),
      ).toEqual([expect.stringContaining('header Retry-After')]);
      // A path the router does not know is its 404, not an operation's; anything else there is not documented.
      expect(check.validate({ ...coverage, url: `${app.url}/nowhere`, status: 404 })).toEqual([]);
      expect(check.validate({ ...coverage, url: `${app.url}/nowhere`, status: 200 })).toEqual([
        expect.stringContaining('no operation documented'),
      ]);
    });
  });
});
