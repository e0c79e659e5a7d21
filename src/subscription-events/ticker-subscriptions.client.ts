import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { withBodyCap } from '../common/read-body';
import { parseRetryAfter } from '../common/retry-after';
import { upstreamConfig, UpstreamConfig } from '../common/upstream.config';
import { TickerSubscriptionDto } from './dto/ticker-subscription.dto';

/** The ticker's page size cap; a shorter page is the last one. */
export const TICKER_PAGE_SIZE = 1000;
// 3 Kite accounts hold 4,500 instruments; anything near this bound means the ticker ignores `offset`.
const MAX_PAGES = 100;
const REQUEST_TIMEOUT_MS = 10_000;

export class TickerReadError extends Error {
  /** How long the ticker asked us to stay away (`Retry-After` on a 429 or 503), in ms. */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Reads the ticker's list of active subscriptions, the truth that events only hint at. Any doubt
 * about the answer (a timeout, a status other than 200, something that is not an array of valid
 * entries, a page that repeats tokens) fails the whole read: a partial list would unsubscribe
 * instruments that are in fact subscribed.
 */
@Injectable()
export class TickerSubscriptionsClient {
  constructor(@Inject(upstreamConfig.KEY) private readonly config: UpstreamConfig) {}

  async fetchActive(signal?: AbortSignal): Promise<TickerSubscriptionDto[]> {
    const all: TickerSubscriptionDto[] = [];
    const seen = new Set<number>();
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new TickerReadError(`more than ${MAX_PAGES} pages of subscriptions`);
      const entries = await this.fetchPage(page * TICKER_PAGE_SIZE, signal);
      for (const entry of entries) {
        if (seen.has(entry.instrument_token))
          throw new TickerReadError(
            `token ${entry.instrument_token} repeated at offset ${page * TICKER_PAGE_SIZE}: the list moved or paging is ignored`,
          );
        seen.add(entry.instrument_token);
        // We asked for active ones; an entry that says otherwise is not counted as active.
        if (entry.status === undefined || entry.status === null || entry.status === 'active') all.push(entry);
      }
      if (entries.length < TICKER_PAGE_SIZE) return all;
    }
  }

  private async fetchPage(offset: number, signal?: AbortSignal): Promise<TickerSubscriptionDto[]> {
    const url = new URL('subscriptions', this.config.TICKER_SERVICE_URL.replace(/\/?$/, '/'));
    url.searchParams.set('status', 'active');
    url.searchParams.set('limit', String(TICKER_PAGE_SIZE));
    url.searchParams.set('offset', String(offset));
    const timeout = AbortSignal.timeout(Math.min(REQUEST_TIMEOUT_MS, this.config.HISTORY_TIMEOUT_MS));
    let response: Response;
    let body: unknown;
    try {
      response = withBodyCap(
        await fetch(url, {
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          headers: { accept: 'application/json' },
        }),
        this.config.UPSTREAM_MAX_BODY_BYTES,
      );
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        // The list is rate limited (100/min): a 429 or 503 may say when asking again is welcome.
        const retryAfterMs =
          response.status === 429 || response.status === 503
            ? parseRetryAfter(response.headers.get('retry-after'), Date.now())
            : undefined;
        throw new TickerReadError(
          `GET ${url.pathname}?offset=${offset} answered ${response.status}${retryAfterMs !== undefined ? ` (Retry-After ${Math.ceil(retryAfterMs / 1000)} s)` : ''}`,
          retryAfterMs,
        );
      }
      body = await response.json();
    } catch (error) {
      if (error instanceof TickerReadError) throw error;
      const cause = (error as Error & { cause?: Error }).cause;
      throw new TickerReadError(
        `GET ${url.pathname}?offset=${offset} failed: ${(error as Error).message}${cause ? ` (${cause.message})` : ''}`,
      );
    }
    if (!Array.isArray(body))
      throw new TickerReadError(`GET ${url.pathname}?offset=${offset} did not answer a JSON array`);
    return body.map((item: unknown, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw new TickerReadError(`entry ${offset + index} is not an object`);
      const entry = plainToInstance(TickerSubscriptionDto, item);
      const errors = validateSync(entry, { forbidUnknownValues: false });
      if (errors.length > 0)
        throw new TickerReadError(
          `entry ${offset + index} is invalid: ${errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ')}`,
        );
      return entry;
    });
  }
}
