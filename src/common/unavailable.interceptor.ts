import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Observable, catchError, throwError } from 'rxjs';
import { MetricsService } from '../metrics/metrics.service';
import { ServiceUnavailableError, UnavailableCause, unavailableOf } from './service-unavailable';

/** One log line per cause in this long at most, with the count of 503s since the last. */
const LOG_PERIOD_MS = 10_000;

/**
 * Every HTTP route: a failure that means "not now" (a read refused by admission control, PostgreSQL
 * or the queue's Redis unreachable) becomes a 503 with `Retry-After`, never a 500. The body is the
 * route's own error shape (Nest's `{statusCode, error, message}`, or the UDF filter's `{s, errmsg}`);
 * the header is set here, before the exception filter writes the answer. Other errors pass unchanged.
 */
@Injectable()
export class UnavailableInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Http');
  private readonly unlogged = new Map<UnavailableCause, { count: number; since: number }>();

  constructor(private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next.handle().pipe(
      catchError((error: unknown) => {
        const unavailable = unavailableOf(error);
        if (!unavailable) return throwError(() => error);
        const response = context
          .switchToHttp()
          .getResponse<{ setHeader(name: string, value: string): void }>();
        response.setHeader('Retry-After', String(unavailable.retryAfterSeconds));
        this.metrics.apiUnavailable.inc({ reason: unavailable.reason });
        this.log(unavailable, error, context);
        return throwError(() => unavailable);
      }),
    );
  }

  /** A dependency's outage answers every request alike: said once per period, with how many. */
  private log(unavailable: ServiceUnavailableError, error: unknown, context: ExecutionContext): void {
    if (unavailable.reason === 'overload') return; // counted in api_reads_refused_total
    const now = Date.now();
    const entry = this.unlogged.get(unavailable.reason) ?? { count: 0, since: 0 };
    entry.count++;
    this.unlogged.set(unavailable.reason, entry);
    if (now - entry.since < LOG_PERIOD_MS) return;
    const { url, method } = context.switchToHttp().getRequest<{ url?: string; method?: string }>();
    this.logger.warn(
      `503 ${unavailable.message} (${entry.count} such answers in the last ${Math.round(Math.min(now - entry.since, 3_600_000) / 1000)} s), e.g. ${method ?? ''} ${url ?? ''}: ${(error as Error)?.message ?? String(error)}`,
    );
    this.unlogged.set(unavailable.reason, { count: 0, since: now });
  }
}
