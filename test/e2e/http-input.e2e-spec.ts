import { FixedClock } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';

// Monday 2025-11-03 11:30 IST: the examples of the OpenAPI document lie before it.
const NOW = '2025-11-03T06:00:00Z';
const API_KEY = 'fuzz-key-1234567';
// Random values per parameter, on top of the fixed lists of known-bad ones.
const RANDOM_PER_PARAMETER = 150;

type Schema = {
  type?: string;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  example?: unknown;
  description?: string;
  default?: unknown;
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

type Kind = 'integer' | 'instant' | 'date' | 'enum' | 'pattern' | 'text';

/** A deterministic generator (mulberry32): the same values on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INSTANT_EXAMPLE = /^\d{4}-\d{2}-\d{2}T/;
const DATE_EXAMPLE = /^\d{4}-\d{2}-\d{2}$/;

function kindOf(schema: Schema): Kind {
  if (schema.enum) return 'enum';
  if (schema.type === 'integer' || schema.type === 'number' || schema.minimum !== undefined) return 'integer';
  if (schema.format === 'date-time' || INSTANT_EXAMPLE.test(String(schema.example))) return 'instant';
  if (schema.format === 'date' || DATE_EXAMPLE.test(String(schema.example))) return 'date';
  if (schema.pattern) return 'pattern';
  return 'text';
}

/** Values of each kind that no route may accept. */
const BAD: Record<Exclude<Kind, 'enum' | 'pattern' | 'text'>, string[]> = {
  integer: [
    '1e20',
    '0x10',
    ' 12',
    '12 ',
    '12.0',
    '-0',
    'NaN',
    'Infinity',
    '-Infinity',
    '-1',
    '+1',
    '',
    'abc',
    '1,000',
    '1_000',
    '١٢',
    '0012',
    '1e3',
    '.5',
    '5.',
    '0b101',
    '0o17',
    'null',
    'true',
    '12abc',
    '\t12',
    '\u000012',
    '9223372036854775807',
    '9223372036854775808',
    '99999999999999999999999999',
    '9007199254740993',
  ],
  instant: [
    '2025-W01-1',
    '2025-123',
    '20251103T0915',
    '2025-11-03T09:15:00',
    '2025-11-03T09:15',
    '2025-11-03',
    '2025-02-30T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-11-03T24:00:00Z',
    '2025-11-03T09:60:00Z',
    '2025-11-03T09:15:60Z',
    '2025-11-03T09:15:00+0530',
    '2025-11-03T09:15:00+15:00',
    '2025-11-03T09:15:00.1234Z',
    '2025-11-03 09:15:00Z',
    '2025-11-03t09:15:00z',
    '9999-12-31T23:00:00-05:00',
    '1969-12-31T23:59:59Z',
    '0000-01-01T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    ' 2025-11-03T09:15:00Z',
    'now',
    'yesterday',
    '1762141500',
    '1762141500000',
    '',
    'NaN',
    'Invalid Date',
    '2025-11-03T09:15:00Z\u0000',
  ],
  date: [
    '2025-13-45',
    '2025-02-29',
    '2025-00-10',
    '2025-11-00',
    '2025-1-5',
    '25-11-25',
    '2025-11-25T00:00:00Z',
    '20251125',
    '2025-W48',
    '2025-329',
    '',
    'today',
    '0000-01-01',
    '1969-12-31',
    '+02025-11-25',
  ],
};

const JUNK_ALPHABET = [
  '0',
  '1',
  '9',
  '-',
  '+',
  '.',
  'e',
  'E',
  'x',
  '_',
  ' ',
  ',',
  ':',
  'T',
  'Z',
  'a',
  '%',
  '\u0000',
  'é',
  '∞',
  '\n',
];

function junk(next: () => number, maxLength: number): string {
  const length = Math.floor(next() * maxLength);
  let text = '';
  for (let i = 0; i < length; i++) text += JUNK_ALPHABET[Math.floor(next() * JUNK_ALPHABET.length)];
  return text;
}

/** The parameter's valid value as the document gives it: its example, its first enum value or its default. */
function validValue(schema: Schema): unknown {
  return schema.example ?? schema.enum?.[0] ?? schema.default;
}

interface Case {
  value: string;
  /** Known to be invalid: must be a 400 naming the field. Otherwise it may be valid: never a 500. */
  bad: boolean;
}

/** Fixed known-bad values plus random ones, each with what the test knows of it. */
function casesFor(schema: Schema, next: () => number): Case[] {
  const kind = kindOf(schema);
  const cases: Case[] = [];
  const example = String(validValue(schema) ?? '');
  switch (kind) {
    case 'integer': {
      const min = schema.minimum ?? 0;
      const max = schema.maximum ?? Number.MAX_SAFE_INTEGER;
      cases.push(...BAD.integer.map((value) => ({ value, bad: true })));
      cases.push({ value: String(min - 1), bad: true }, { value: String(max + 1), bad: true });
      const isValid = (text: string): boolean =>
        /^(0|[1-9]\d*)$/.test(text) &&
        Number(text) >= min &&
        Number(text) <= max &&
        Number.isSafeInteger(Number(text));
      for (let i = 0; i < RANDOM_PER_PARAMETER; i++) {
        const pick = next();
        const value =
          pick < 0.4
            ? junk(next, 24)
            : pick < 0.6
              ? String(Math.floor(next() * 10 ** Math.floor(next() * 30)))
              : pick < 0.8
                ? String((next() - 0.5) * 10 ** Math.floor(next() * 25))
                : `${Math.floor(next() * 1000)}e${Math.floor(next() * 30)}`;
        cases.push({ value, bad: !isValid(value) });
      }
      return cases;
    }
    case 'instant':
    case 'date': {
      cases.push(...BAD[kind].map((value) => ({ value, bad: true })));
      // Mutations of the example: some stay valid, so only "never a 500" is known of them.
      for (let i = 0; i < RANDOM_PER_PARAMETER; i++) {
        const chars = [...example];
        const at = Math.floor(next() * (chars.length + 1));
        const char = JUNK_ALPHABET[Math.floor(next() * JUNK_ALPHABET.length)];
        const op = next();
        if (op < 0.4) chars[at] = char;
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, char);
        cases.push({ value: chars.join(''), bad: false });
      }
      for (let i = 0; i < RANDOM_PER_PARAMETER / 3; i++) {
        const value = junk(next, 30);
        cases.push({ value, bad: !DATE_EXAMPLE.test(value) && !INSTANT_EXAMPLE.test(value) });
      }
      return cases;
    }
    case 'enum': {
      const allowed = new Set((schema.enum ?? []).map(String));
      for (const value of [...allowed].flatMap((v) => [v.toUpperCase(), ` ${v}`, `${v}x`, '']))
        if (!allowed.has(value)) cases.push({ value, bad: true });
      for (let i = 0; i < RANDOM_PER_PARAMETER; i++) {
        const value = junk(next, 12);
        cases.push({ value, bad: !allowed.has(value) });
      }
      return cases;
    }
    case 'pattern':
    case 'text': {
      const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined;
      const values = [
        '',
        'x'.repeat(5000),
        '\u0000',
        `${example}\u0000`,
        '%',
        '../..',
        '{"a":1}',
        "' OR 1=1 --",
      ];
      for (let i = 0; i < RANDOM_PER_PARAMETER; i++) values.push(junk(next, 40));
      for (const value of values) cases.push({ value, bad: pattern ? !pattern.test(value) : false });
      return cases;
    }
  }
}

interface Answer {
  status: number;
  body: {
    statusCode?: number;
    error?: string;
    errors?: { field: string; message: string }[];
    message?: unknown;
    s?: string;
    errmsg?: string;
  };
}

/**
 * Names no route declares, starting with every member of Object.prototype: a lookup of a parameter
 * name in a plain object finds those on the prototype chain and takes them for declared.
 */
const UNDECLARED_NAMES = [
  'foo',
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype',
  'then',
  'length',
  'name',
];

/** Whether an instant's UTC and IST (UTC+05:30) dates both fall in 1970..9999. */
const IST_OFFSET_MS = 330 * 60_000;
const heldInstant = (ms: number): boolean =>
  ms >= Date.UTC(1970, 0, 1) && ms + IST_OFFSET_MS <= Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const EDGE_INSTANTS = [
  '9999-12-31T23:59:59Z',
  '9999-12-31T23:59:59.999+14:00',
  '9999-12-31T18:30:00Z',
  '9999-12-31T18:29:59.999Z',
  '9999-12-31T23:59:59+05:30',
  '9999-12-31T00:00:00Z',
  '9999-12-30T18:30:00Z',
  '9999-12-29T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '1970-01-01T05:30:00+05:30',
  '1970-01-02T00:00:00Z',
];
const EDGE_DATES = ['9999-12-31', '9999-12-30', '1970-01-01', '1970-01-02'];

/** A JSON text nested `depth` levels deep, by objects or by arrays. */
const nestedObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('every HTTP parameter: bad input is a 400 naming the field, never a 500', () => {
  let app: TestApp;
  let document: Document;
  const resolve = (schema: Schema): Schema =>
    schema.$ref ? document.components.schemas[schema.$ref.split('/').pop()!] : schema;

  beforeAll(async () => {
    app = await startTestApp({ clock: new FixedClock(NOW), env: { API_KEY } });
    document = (await (await fetch(`${app.url}/docs-json`)).json()) as Document;
  });

  afterAll(async () => {
    await app?.close();
  });

  const send = async (
    method: string,
    path: string,
    query: Array<[string, string]>,
    body?: string,
  ): Promise<Answer> => {
    const url = new URL(`${app.url}${path}`);
    for (const [name, value] of query) url.searchParams.append(name, value);
    const response = await fetch(url, {
      method: method.toUpperCase(),
      headers: {
        'x-api-key': API_KEY,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body,
      redirect: 'manual',
    });
    const text = await response.text();
    let parsed: Answer['body'] = {};
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      parsed = { message: text };
    }
    return { status: response.status, body: parsed };
  };

  /** Every operation with its path and query parameters and its JSON body, as the document says. */
  const operations = (): Array<{ method: string; path: string; params: Parameter[]; body?: Schema }> =>
    Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => {
        const json = operation.requestBody?.content['application/json']?.schema;
        return {
          method,
          path,
          params: (operation.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query'),
          body: json ? resolve(json) : undefined,
        };
      }),
    );

  const pathWith = (path: string, params: Parameter[], override?: [string, string]): string =>
    path.replace(/\{(\w+)\}/g, (_m, name: string) => {
      const value =
        override && override[0] === name
          ? override[1]
          : String(validValue(params.find((p) => p.name === name)!.schema));
      return encodeURIComponent(value);
    });

  it('documents every parameter with its type, bounds, format and a valid example', () => {
    const problems: string[] = [];
    for (const { method, path, params, body } of operations()) {
      const all = [
        ...params.map((p) => [p.name, p.schema] as const),
        ...Object.entries(body?.properties ?? {}),
      ];
      for (const [name, schema] of all) {
        const where = `${method.toUpperCase()} ${path} ${name}`;
        if (validValue(schema) === undefined) problems.push(`${where}: no example`);
        if (schema.type === 'number' || (schema.type === undefined && !schema.enum))
          problems.push(`${where}: type ${schema.type ?? 'missing'}`);
        if (schema.type === 'integer' && (schema.minimum === undefined || schema.maximum === undefined))
          problems.push(`${where}: integer without minimum and maximum`);
        if (INSTANT_EXAMPLE.test(String(schema.example)) && schema.format !== 'date-time')
          problems.push(`${where}: an instant without format date-time`);
        if (DATE_EXAMPLE.test(String(schema.example)) && schema.format !== 'date')
          problems.push(`${where}: a date without format date`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('answers a few hundred generated bad values per parameter with a 400 naming it, and nothing with a 500', async () => {
    const next = random(20251103);
    const failures: string[] = [];
    let requests = 0;
    const check = (where: string, value: unknown, bad: boolean, field: string, answer: Answer): void => {
      requests++;
      const shown = JSON.stringify(value)?.slice(0, 60);
      if (answer.status >= 500) failures.push(`${where} ${shown}: ${answer.status}`);
      else if (bad && answer.status !== 400)
        failures.push(`${where} ${shown}: ${answer.status}, expected 400`);
      else if (bad && !answer.body.errors?.some((e) => e.field === field))
        failures.push(
          `${where} ${shown}: 400 without the field named (${JSON.stringify(answer.body).slice(0, 120)})`,
        );
      else if (answer.status === 400 && !answer.body.errors?.length)
        failures.push(`${where} ${shown}: 400 without field errors`);
    };

    for (const { method, path, params, body } of operations()) {
      const required = params.filter((p) => p.in === 'query' && p.required);
      const baseQuery = required.map((p): [string, string] => [p.name, String(validValue(p.schema))]);
      const baseBody = Object.fromEntries(
        (body?.required ?? []).map((name) => [name, validValue(body!.properties![name])]),
      );
      const bodyText = body ? JSON.stringify(baseBody) : undefined;

      for (const param of params) {
        const where = `${method.toUpperCase()} ${path} ${param.in} ${param.name}`;
        for (const { value, bad } of casesFor(param.schema, next)) {
          const answer =
            param.in === 'path'
              ? await send(method, pathWith(path, params, [param.name, value]), baseQuery, bodyText)
              : await send(
                  method,
                  pathWith(path, params),
                  [...baseQuery.filter(([name]) => name !== param.name), [param.name, value]],
                  bodyText,
                );
          // An empty or dot segment routes elsewhere (a 404): not this parameter's answer.
          if (param.in === 'path' && ['', '.', '..'].includes(value)) continue;
          check(where, value, bad, param.name, answer);
        }
        if (param.in === 'query') {
          // Sent twice: an array where one value is expected.
          const value = String(validValue(param.schema));
          const answer = await send(method, pathWith(path, params), [
            ...baseQuery,
            [param.name, value],
            [param.name, value],
          ]);
          check(where, [value, value], true, param.name, answer);
        }
      }
      if (method === 'get' && params.some((p) => p.in === 'query')) {
        const answer = await send(method, pathWith(path, params), [...baseQuery, ['bogus', '1']]);
        check(`GET ${path} unknown parameter`, 'bogus', true, 'bogus', answer);
      }

      for (const [name, schema] of Object.entries(body?.properties ?? {})) {
        const where = `${method.toUpperCase()} ${path} body ${name}`;
        const kind = kindOf(schema);
        const optional = !(body?.required ?? []).includes(name);
        // JSON values of the wrong type are bad whatever the kind; null only for a required field.
        const wrongTypes: unknown[] = [true, [], {}, [[[1]]], { $gt: 0 }, ...(optional ? [] : [null])];
        const typed =
          kind === 'integer'
            ? [...wrongTypes, '1', String(validValue(schema)), 1.5, -1, 0, 1e20, 2 ** 53, -0.5, 1e308]
            : [...wrongTypes, 0, 1762141500, ...BAD[kind === 'date' ? 'date' : 'instant']];
        for (const value of typed) {
          const answer = await send(
            method,
            pathWith(path, params),
            baseQuery,
            JSON.stringify({ ...baseBody, [name]: value }),
          );
          check(where, value, true, name, answer);
        }
        for (const { value, bad } of casesFor(schema, next)) {
          // Integers go as JSON numbers where the text is one; any string is the wrong type for them.
          const sent = kind === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
          const known =
            kind !== 'integer'
              ? bad
              : typeof sent === 'string' ||
                !(
                  Number.isSafeInteger(sent) &&
                  sent >= (schema.minimum ?? 0) &&
                  sent <= (schema.maximum ?? Infinity)
                );
          const answer = await send(
            method,
            pathWith(path, params),
            baseQuery,
            JSON.stringify({ ...baseBody, [name]: sent }),
          );
          check(where, sent, known, name, answer);
        }
      }
      if (body) {
        for (const text of [
          '{',
          '[]',
          '"x"',
          '42',
          'null',
          '{"instrument_token":1,}',
          JSON.stringify({ ...baseBody, bogus: 1 }),
        ]) {
          const answer = await send(method, pathWith(path, params), baseQuery, text);
          requests++;
          if (answer.status !== 400)
            failures.push(`${method.toUpperCase()} ${path} body ${text}: ${answer.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(2000);
  }, 240_000);

  it('still serves the known-good requests', async () => {
    const token = 13660418;
    const candles = await send('get', `/api/v1/instruments/${token}/candles`, [
      ['from', '2025-11-03T03:45:00Z'],
      ['to', '2025-11-03T11:00:00+05:30'],
      ['interval', '5m'],
    ]);
    expect(candles).toEqual({ status: 200, body: { instrument_token: token, interval: '5m', candles: [] } });
    // The same window, given in IST and in UTC, is the same window: no zone-less reading anywhere.
    const ist = await send('get', `/api/v1/instruments/${token}/candles`, [
      ['from', '2025-11-03T09:15:00+05:30'],
      ['to', '2025-11-03T15:30:00+05:30'],
    ]);
    expect(ist.status).toBe(200);
    expect((await send('get', `/api/v1/instruments/${token}/coverage`, [])).status).toBe(200);
    expect(
      (
        await send('get', '/api/v1/subscriptions', [
          ['limit', '1000'],
          ['offset', '0'],
        ])
      ).status,
    ).toBe(200);
    expect(
      (
        await send('get', '/api/v1/backfill/jobs', [
          ['instrument_token', String(token)],
          ['limit', '500'],
        ])
      ).status,
    ).toBe(200);
    expect((await send('get', '/api/v1/backfill/jobs/bf-13660418-1-2', [])).status).toBe(404);
    const chain = await send('get', '/api/v1/options/NIFTY/chain', [
      ['expiry', '2025-11-25'],
      ['at', '2025-11-03T10:00:00+05:30'],
    ]);
    expect(chain.status).toBe(404);
    const accepted = await send(
      'post',
      '/api/v1/backfill',
      [],
      JSON.stringify({
        instrument_token: token,
        from: '2025-11-03T09:15:00+05:30',
        to: '2025-11-03T04:00:00Z',
      }),
    );
    expect(accepted.status).toBe(202);
  });

  /** The route's own valid request: every query parameter and the body's required fields, from the examples. */
  const validRequest = (
    params: Parameter[],
    body?: Schema,
  ): { query: Array<[string, string]>; body?: Record<string, unknown> } => ({
    query: params
      .filter((p) => p.in === 'query')
      .map((p): [string, string] => [p.name, String(validValue(p.schema))]),
    body: body
      ? Object.fromEntries((body.required ?? []).map((name) => [name, validValue(body.properties![name])]))
      : undefined,
  });

  /** The 400 a route must give for `field`: the REST shape, or UDF's `{s: "error"}` with the same field errors. */
  const refusal = (path: string, field: string, answer: Answer): string | undefined => {
    if (answer.status !== 400) return `${answer.status}, expected 400`;
    const named = answer.body.errors?.some((e) => e.field === field && typeof e.message === 'string');
    if (!named) return `400 without ${field} named: ${JSON.stringify(answer.body).slice(0, 160)}`;
    if (path.startsWith('/udf/'))
      return answer.body.s === 'error' && typeof answer.body.errmsg === 'string'
        ? undefined
        : `not the UDF error shape: ${JSON.stringify(answer.body).slice(0, 160)}`;
    return answer.body.statusCode === 400 &&
      answer.body.error === 'Bad Request' &&
      typeof answer.body.message === 'string'
      ? undefined
      : `not the error shape: ${JSON.stringify(answer.body).slice(0, 160)}`;
  };

  it('refuses every parameter and body field a route does not declare, whatever its name, on every route', async () => {
    const failures: string[] = [];
    let routes = 0;
    for (const { method, path, params, body } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const valid = validRequest(params, body);
      const bodyText = valid.body ? JSON.stringify(valid.body) : undefined;
      // The route's valid request passes, so a 400 below is the name's doing.
      const base = await send(method, pathWith(path, params), valid.query, bodyText);
      if (base.status === 400 || base.status >= 500) {
        failures.push(`${where}: its valid request answered ${base.status}`);
        continue;
      }
      routes++;
      for (const name of UNDECLARED_NAMES) {
        const answer = await send(method, pathWith(path, params), [...valid.query, [name, '1']], bodyText);
        const problem = refusal(path, name, answer);
        if (problem) failures.push(`${where} query ${name}: ${problem}`);
      }
      if (!valid.body) continue;
      for (const name of UNDECLARED_NAMES) {
        // Written out: an object literal would give __proto__ a meaning of its own.
        const text = `${bodyText!.slice(0, -1)},${JSON.stringify(name)}:1}`;
        const answer = await send(method, pathWith(path, params), valid.query, text);
        const problem = refusal(path, name, answer);
        if (problem) failures.push(`${where} body ${name}: ${problem}`);
      }
    }
    expect(failures).toEqual([]);
    expect(routes).toBeGreaterThanOrEqual(Object.keys(document.paths).length);
  }, 120_000);

  it('refuses bodies nested deeper than any field needs with a 400, and keeps serving', async () => {
    const failures: string[] = [];
    let bodies = 0;
    for (const { method, path, params, body } of operations()) {
      if (!body) continue;
      const valid = validRequest(params, body);
      const first = Object.keys(body.properties ?? {})[0];
      const deep = [
        nestedObjects(5000),
        nestedArrays(10_000),
        `{${JSON.stringify(first)}:${nestedArrays(10_000)}}`,
        `{${JSON.stringify(first)}:${nestedObjects(5000)}}`,
        `{${JSON.stringify(first)}:1,"extra":${nestedObjects(5000)}}`,
      ];
      for (const text of deep) {
        bodies++;
        const answer = await send(method, pathWith(path, params), valid.query, text);
        const where = `${method.toUpperCase()} ${path} ${text.slice(0, 30)}... (${text.length} bytes)`;
        if (answer.status !== 400) failures.push(`${where}: ${answer.status}`);
        else if (!(
          answer.body.statusCode === 400 &&
          answer.body.error === 'Bad Request' &&
          typeof answer.body.message === 'string' &&
          answer.body.errors?.length &&
          answer.body.errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string')
        ))
          failures.push(`${where}: not the error shape: ${JSON.stringify(answer.body).slice(0, 160)}`);
      }
      const again = await send(method, pathWith(path, params), valid.query, JSON.stringify(valid.body));
      if (again.status === 400 || again.status >= 500)
        failures.push(`${method.toUpperCase()} ${path}: its valid request then answered ${again.status}`);
    }
    expect(failures).toEqual([]);
    expect(bodies).toBeGreaterThan(0);
  });

  it('bounds every instant, date and epoch second to what the service holds: a 400 beyond, never a 500', async () => {
    const failures: string[] = [];
    let requests = 0;
    const DAY_MS = 86_400_000;
    for (const { method, path, params, body } of operations()) {
      const valid = validRequest(params, body);
      const fields = [
        ...params.map((p) => ({
          name: p.name,
          where: p.in,
          schema: { description: p.description, ...p.schema },
        })),
        ...Object.entries(body?.properties ?? {}).map(([name, schema]) => ({
          name,
          where: 'body' as const,
          schema: resolve(schema),
        })),
      ];
      const instants = fields.filter((f) => kindOf(f.schema) === 'instant');
      const dates = fields.filter((f) => kindOf(f.schema) === 'date');
      const epochs = fields.filter(
        (f) => kindOf(f.schema) === 'integer' && /epoch seconds/i.test(String(f.schema.description)),
      );
      // Each edge value alone, and (where the route has a window) as its end with the start a day before.
      const cases: Array<{ set: Record<string, string | number>; field: string; held: boolean }> = [];
      for (const field of instants)
        for (const value of EDGE_INSTANTS) {
          const ms = Date.parse(value);
          cases.push({ set: { [field.name]: value }, field: field.name, held: heldInstant(ms) });
          if (field.name === 'to' && instants.some((f) => f.name === 'from'))
            cases.push({
              set: { from: new Date(ms - DAY_MS).toISOString(), to: value },
              field: 'to',
              held: heldInstant(ms),
            });
        }
      for (const field of dates)
        for (const value of EDGE_DATES)
          cases.push({ set: { [field.name]: value }, field: field.name, held: true });
      for (const field of epochs) {
        const max = field.schema.maximum!;
        for (const value of [0, 1, 86_400, max - 86_400, max]) {
          cases.push({ set: { [field.name]: value }, field: field.name, held: true });
          if (field.name === 'to' && epochs.some((f) => f.name === 'from'))
            cases.push({
              set: { from: Math.max(0, value - 86_400), to: value },
              field: 'to',
              held: true,
            });
        }
      }
      const resolutions = params.find((p) => p.name === 'resolution')?.schema.enum ?? [undefined];
      for (const { set, field, held } of cases)
        for (const resolution of resolutions) {
          const query = new Map(valid.query);
          if (resolution !== undefined) query.set('resolution', String(resolution));
          const values = { ...valid.body };
          let pathParams = params;
          for (const [name, value] of Object.entries(set)) {
            const declared = fields.find((f) => f.name === name)!;
            if (declared.where === 'body') values[name] = value;
            else if (declared.where === 'query') query.set(name, String(value));
            else
              pathParams = params.map((p) =>
                p.name === name ? { ...p, schema: { ...p.schema, example: value } } : p,
              );
          }
          const answer = await send(
            method,
            pathWith(path, pathParams),
            [...query],
            body ? JSON.stringify(values) : undefined,
          );
          requests++;
          const where = `${method.toUpperCase()} ${path} ${JSON.stringify(set)}${resolution ? ` resolution=${String(resolution)}` : ''}`;
          if (answer.status >= 500) failures.push(`${where}: ${answer.status}`);
          else if (!held) {
            const problem = refusal(path, field, answer);
            if (problem) failures.push(`${where}: ${problem}`);
          }
        }
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
  }, 120_000);
});
