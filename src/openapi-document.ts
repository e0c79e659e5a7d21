import { getSchemaPath } from '@nestjs/swagger';
import type {
  OpenAPIObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { UdfErrorDto } from './udf/dto/udf.dto';
import {
  FieldErrorDto,
  HttpErrorDto,
  PayloadTooLargeErrorDto,
  ServiceUnavailableErrorDto,
  ValidationErrorDto,
} from './common/http-error.dto';

/** The error bodies every operation refers to; `SwaggerModule.createDocument` must know them. */
export const ERROR_MODELS = [
  FieldErrorDto,
  ValidationErrorDto,
  HttpErrorDto,
  PayloadTooLargeErrorDto,
  ServiceUnavailableErrorDto,
  UdfErrorDto,
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Routes whose errors are the UDF protocol's `{s: "error", errmsg}` (UdfExceptionFilter). */
const UDF_PATH_PREFIX = '/udf/';

/**
 * Liveness answers from the process alone, whatever PostgreSQL, Redis or the read load do: a 503
 * there would have Kubernetes restart a healthy pod. Readiness documents its own 503 (terminus).
 */
const NEVER_UNAVAILABLE = new Set(['/health/live']);

/**
 * OpenAPI 3.0 has no null type: `nullable` adds null only to the `type` of its own schema object, so
 * `{nullable: true, allOf: [{$ref}]}` (what @nestjs/swagger writes for a nullable class property)
 * still refuses null through the reference. A value that is the referenced object or null is
 * `anyOf` the reference and a schema that admits null alone.
 */
const NULL_ONLY: SchemaObject = { type: 'object', nullable: true, enum: [null] };

const json = (model: Parameters<typeof getSchemaPath>[0]) => ({
  'application/json': { schema: { $ref: getSchemaPath(model) } },
});

const RESPONSES: Record<string, ResponseObject> = {
  BadRequest: {
    description: 'A parameter or body field that is malformed, out of range or not declared by the route',
    content: json(ValidationErrorDto),
  },
  UdfBadRequest: {
    description: 'A parameter that is malformed, out of range or not declared by the route (UDF error shape)',
    content: json(UdfErrorDto),
  },
  Unauthorized: {
    description: 'X-API-Key missing or wrong (when API_KEY is set)',
    content: json(HttpErrorDto),
  },
  PayloadTooLarge: {
    description: 'The body is larger than the JSON parser accepts (100 kB)',
    content: json(PayloadTooLargeErrorDto),
  },
  ServiceUnavailable: {
    description:
      'PostgreSQL or Redis is unavailable, or the replica is at its limit of reads in flight: nothing was done; try again after `Retry-After` seconds',
    headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
    content: json(ServiceUnavailableErrorDto),
  },
  UdfServiceUnavailable: {
    description:
      'PostgreSQL is unavailable, or the replica is at its limit of reads in flight: try again after `Retry-After` seconds (UDF error shape)',
    headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' } },
    content: json(UdfErrorDto),
  },
};

const ref = (name: keyof typeof RESPONSES): ReferenceObject => ({ $ref: `#/components/responses/${name}` });

function isReference(value: unknown): value is ReferenceObject {
  return typeof value === 'object' && value !== null && '$ref' in value;
}

/** Rewrites every `{nullable: true, allOf: [{$ref}]}` in place (see NULL_ONLY). */
function fixNullableReferences(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) fixNullableReferences(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as SchemaObject & Record<string, unknown>;
  if (schema.nullable === true && schema.allOf?.length === 1 && isReference(schema.allOf[0])) {
    const target = schema.allOf[0];
    delete schema.nullable;
    delete schema.allOf;
    delete schema.type;
    schema.anyOf = [target, NULL_ONLY];
  }
  for (const value of Object.values(schema)) fixNullableReferences(value);
}

/** The body of an error response the controller declared by status and description only. */
function errorContent(status: string, udf: boolean): ResponseObject['content'] {
  if (udf) return json(UdfErrorDto);
  if (status === '400') return json(ValidationErrorDto);
  return json(HttpErrorDto);
}

function completeOperation(path: string, operation: OperationObject): void {
  const udf = path.startsWith(UDF_PATH_PREFIX);
  // Reads are open; a mutating route names the API-key scheme itself (@ApiSecurity).
  operation.security ??= [];
  const responses = operation.responses;
  for (const [status, response] of Object.entries(responses)) {
    if (/^[45]\d\d$/.test(status) && response && !isReference(response) && !response.content)
      response.content = errorContent(status, udf);
  }
  // Every route refuses a parameter it does not declare (DeclaredInputInterceptor), so every
  // operation can answer 400, also those that take no parameter at all.
  responses['400'] ??= ref(udf ? 'UdfBadRequest' : 'BadRequest');
  if (operation.security.some((requirement) => 'api-key' in requirement))
    responses['401'] = ref('Unauthorized');
  if (operation.requestBody) responses['413'] ??= ref('PayloadTooLarge');
  if (!NEVER_UNAVAILABLE.has(path))
    responses['503'] ??= ref(udf ? 'UdfServiceUnavailable' : 'ServiceUnavailable');
}

/**
 * What @nestjs/swagger does not write from the decorators: every operation's security, the shared
 * error bodies and their responses (400, 401, 413, 503 with `Retry-After`), and nullable references that
 * OpenAPI 3.0 tools read as nullable. The document is linted (Redocly, `recommended`) and every
 * response of the end-to-end tests is validated against it.
 */
export function completeOpenApiDocument(document: OpenAPIObject): OpenAPIObject {
  const components = (document.components ??= {});
  components.headers = {
    ...components.headers,
    'Retry-After': {
      description: 'Seconds to wait before trying again',
      required: true,
      schema: { type: 'integer', minimum: 0, example: 5 },
    },
  };
  components.responses = { ...components.responses, ...RESPONSES };
  for (const [path, item] of Object.entries(document.paths))
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) completeOperation(path, operation);
    }
  fixNullableReferences(components.schemas);
  return document;
}
