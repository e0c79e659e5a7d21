import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { httpConfig, HttpConfig } from './http.config';

/** Mutating routes need `X-API-Key` when API_KEY is set (CONTRACTS.md section 5). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(httpConfig.KEY) private readonly config: HttpConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const expected = this.config.API_KEY;
    if (!expected) return true;
    const header = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers['x-api-key'];
    const given = typeof header === 'string' ? header : '';
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    if (a.length === b.length && timingSafeEqual(a, b)) return true;
    throw new UnauthorizedException('missing or wrong X-API-Key');
  }
}
