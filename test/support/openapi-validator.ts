import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Checks one HTTP response against the OpenAPI 3.0 document of the service that sent it: the
 * operation exists, the status is documented, the documented required headers are there and
 * well-formed, the media type is documented and the body is what its schema says, read as OpenAPI
 * 3.0.3 says (`nullable` adds null only to the `type` of its own schema object, so a reference is
 * never nullable by itself) and with no property the schema does not name.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Node = { [key: string]: Json };

export interface OpenApiDocument {
  paths: Record<string, Record<string, Node>>;
  components?: Record<string, Record<string, Node>>;
}

export interface ReceivedResponse {
  method: string;
  url: string;
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  /** The body as text; undefined when it was not read (a stream, a HEAD). */
  body?: string;
}

// Annotations of OpenAPI that JSON Schema (draft-07, as Ajv reads it) does not have.
const ANNOTATIONS = new Set([
  'example',
  'xml',
  'externalDocs',
  'discriminator',
  'deprecated',
  'readOnly',
  'writeOnly',
]);
/** Routes SwaggerModule serves around the document itself; they are not in it. */
const DOCUMENT_ROUTES = /^\/docs(-json|\/.*)?$/;

const SCHEMAS_ID = 'openapi-schemas';

function isNode(value: Json | undefined): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An OpenAPI 3.0 schema as JSON Schema: nullable typed, references into one schema of definitions. */
function toJsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!isNode(schema)) return schema;
  const out: Node = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key === 'nullable') continue;
    if (key === '$ref' && typeof value === 'string')
      out.$ref = value.replace('#/components/schemas/', `${SCHEMAS_ID}#/definitions/`);
    else if (key === 'properties' && isNode(value))
      out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, toJsonSchema(s)]));
    else if (key === 'enum' || key === 'required' || key === 'default') out[key] = value;
    else out[key] = toJsonSchema(value);
  }
  if (schema.nullable === true && typeof schema.type === 'string') out.type = [schema.type, 'null'];
  // An object schema that names its properties allows no others, unless it says so.
  if (isNode(schema.properties) && schema.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

function pathPattern(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped === '/' ? '/' : `${escaped}/?`}$`);
}

export class OpenApiResponseValidator {
  private readonly ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictTypes: false,
    allowUnionTypes: true,
  });
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly routes: { template: string; pattern: RegExp; literal: number }[];

  constructor(private readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    const schemas = document.components?.schemas ?? {};
    this.ajv.addSchema({
      $id: SCHEMAS_ID,
      definitions: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, toJsonSchema(s)])),
    });
    // A literal path wins over a template that also matches (`/jobs/stats` before `/jobs/{id}`).
    this.routes = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: pathPattern(template),
        literal: template.replace(/\{[^}]+\}/g, '').length,
      }))
      .sort((a, b) => b.literal - a.literal);
  }

  /** What is wrong with the response, one line per problem; empty when it is as documented. */
  validate(response: ReceivedResponse): string[] {
    const { pathname } = new URL(response.url);
    const method = response.method.toLowerCase();
    const where = `${response.method.toUpperCase()} ${pathname} ${response.status}`;
    if (DOCUMENT_ROUTES.test(pathname)) return [];
    const route = this.routes.find((r) => r.pattern.test(pathname));
    // Nothing routed there: the router's own 404, not an operation's answer.
    const operation = route && this.document.paths[route.template][method === 'head' ? 'get' : method];
    if (!route || !isNode(operation)) {
      return response.status === 404
        ? []
        : [`${where}: no operation documented for ${method.toUpperCase()} ${pathname}`];
    }
    const responses = operation.responses as Node;
    const status = String(response.status);
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (!isNode(documented))
      return [
        `${where}: status ${status} is not documented for ${route.template} (documented: ${Object.keys(responses).join(', ')})`,
      ];
    const answer = this.resolve(documented);
    const problems: string[] = [];

    for (const [name, header] of Object.entries((answer.headers as Node | undefined) ?? {})) {
      const spec = this.resolve(header as Node);
      const value = response.headers[name.toLowerCase()];
      if (value === undefined) {
        if (spec.required === true) problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      const schema = spec.schema as Node | undefined;
      if (schema) {
        const typed =
          schema.type === 'integer' || schema.type === 'number'
            ? /^-?\d+(\.\d+)?$/.test(value)
              ? Number(value)
              : value
            : value;
        const check = this.validator(schema);
        if (!check(typed))
          problems.push(`${where}: header ${name}: ${value} ${this.ajv.errorsText(check.errors)}`);
      }
    }

    const content = answer.content as Node | undefined;
    if (!content || response.body === undefined || response.status === 204 || method === 'head')
      return problems;
    const mediaType = (response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const media = content[mediaType] ?? content[`${mediaType.split('/')[0]}/*`] ?? content['*/*'];
    if (!isNode(media)) {
      problems.push(
        `${where}: content type ${mediaType || '(none)'} not documented (documented: ${Object.keys(content).join(', ')})`,
      );
      return problems;
    }
    const schema = media.schema as Node | undefined;
    if (!schema) return problems;
    let body: unknown = response.body;
    if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
      try {
        body = JSON.parse(response.body);
      } catch {
        problems.push(`${where}: body is not JSON: ${response.body.slice(0, 120)}`);
        return problems;
      }
    }
    const check = this.validator(schema);
    if (!check(body))
      problems.push(
        `${where}: body does not match the schema: ${this.ajv.errorsText(check.errors, { dataVar: 'body' })}; body ${JSON.stringify(body)?.slice(0, 300)}`,
      );
    return problems;
  }

  private resolve(node: Node): Node {
    let current = node;
    for (let depth = 0; typeof current.$ref === 'string' && depth < 10; depth++) {
      const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(current.$ref) ?? [];
      const target = this.document.components?.[kind]?.[name];
      if (!isNode(target)) throw new Error(`unresolved reference ${current.$ref}`);
      current = target;
    }
    return current;
  }

  private validator(schema: Node): ValidateFunction {
    let check = this.compiled.get(schema);
    if (!check) {
      check = this.ajv.compile(toJsonSchema(schema) as object);
      this.compiled.set(schema, check);
    }
    return check;
  }
}
