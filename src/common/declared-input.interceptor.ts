import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { getMetadataStorage } from 'class-validator';
import { Observable } from 'rxjs';
import { deeperThan } from './json-depth';
import { badRequest, FieldError } from './validation';

/**
 * Nesting accepted in a request body. Every body here is one object of plain fields (level 2); the
 * bound leaves room for a nested field while stopping a body such as 5,000 nested objects (30 KB)
 * before anything walks it recursively.
 */
export const MAX_BODY_DEPTH = 8;

/** The names a route reads: its query parameters, and its body's fields when it takes a body DTO. */
interface DeclaredNames {
  query: ReadonlySet<string>;
  body?: ReadonlySet<string>;
}

type Constructor = abstract new (...args: never[]) => unknown;
type RouteArgs = Record<string, { index: number; data?: unknown }>;

/** The properties a DTO class declares to class-validator (its own and inherited): what whitelisting allows. */
function dtoProperties(type: unknown): string[] {
  if (typeof type !== 'function' || type === Object) return [];
  const metadata = getMetadataStorage().getTargetValidationMetadatas(
    type as Constructor as new () => unknown,
    undefined as unknown as string,
    false,
    false,
  );
  return [...new Set(metadata.map((m) => m.propertyName))];
}

function declaredNames(controller: Constructor, handler: string): DeclaredNames {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as RouteArgs;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype, handler) ?? []) as unknown[];
  const query = new Set<string>();
  let body: Set<string> | undefined;
  for (const [key, { index, data }] of Object.entries(args)) {
    const kind = Number(key.split(':')[0]);
    const names = typeof data === 'string' ? [data] : dtoProperties(types[index]);
    if (kind === Number(RouteParamtypes.QUERY)) for (const name of names) query.add(name);
    else if (kind === Number(RouteParamtypes.BODY)) {
      body ??= new Set();
      for (const name of names) body.add(name);
    }
  }
  return { query, body };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Refuses, before any pipe or handler sees the request, a query parameter the route does not declare
 * (a route without a query DTO declares none) and a body field its body DTO does not declare, with the
 * validation 400 (`badRequest`), whatever the name: the whitelist of class-validator looks names up
 * in a plain object, so `constructor`, `__proto__` or `hasOwnProperty` passed it as declared. Also
 * refuses a body nested deeper than MAX_BODY_DEPTH, which class-transformer would walk until the stack
 * overflows. Runs after the guards, so a request without its API key is still a 401 first.
 */
@Injectable()
export class DeclaredInputInterceptor implements NestInterceptor {
  private readonly routes = new WeakMap<object, DeclaredNames>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ query?: object; body?: unknown }>();
    const handler = context.getHandler();
    let declared = this.routes.get(handler);
    if (!declared) {
      declared = declaredNames(context.getClass() as Constructor, handler.name);
      this.routes.set(handler, declared);
    }
    const errors: FieldError[] = [];
    for (const name of Object.keys(request.query ?? {}))
      if (!declared.query.has(name))
        errors.push({ field: name, message: `property ${name} should not exist` });
    const body = request.body;
    if (typeof body === 'object' && body !== null) {
      if (isPlainObject(body)) {
        for (const [name, value] of Object.entries(body)) {
          if (deeperThan(value, MAX_BODY_DEPTH - 1))
            errors.push({ field: name, message: `nested deeper than ${MAX_BODY_DEPTH} levels` });
          else if (declared.body && !declared.body.has(name))
            errors.push({ field: name, message: `property ${name} should not exist` });
        }
      } else if (deeperThan(body, MAX_BODY_DEPTH)) {
        errors.push({ field: 'body', message: `nested deeper than ${MAX_BODY_DEPTH} levels` });
      }
    }
    if (errors.length > 0) throw badRequest(errors);
    return next.handle();
  }
}
