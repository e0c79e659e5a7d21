import { Client } from 'pg';

/** pg's message when `query_timeout` passes without an answer. */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A pg client that closes its connection when a query gets no answer within `query_timeout`. pg
 * stops waiting for the answer but keeps the connection, and every later query on it would queue
 * behind the unanswered one for good (a hung server, or a network that swallows the bytes, never
 * answers). Closed, it is dropped by the pool, which opens a fresh one for the next query.
 */
export class DeadlineClient extends Client {
  // pg's `query` has a dozen overloads (text or config, values, callback or promise); every one is
  // passed through unchanged, only its outcome is looked at.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const last: unknown = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (error: Error | null, ...rest: unknown[]) => void;
      args[args.length - 1] = (error: Error | null, ...rest: unknown[]) => {
        this.dropIfTimedOut(error);
        callback(error, ...rest);
      };
    }
    const result = (Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) result.catch((error: Error) => this.dropIfTimedOut(error));
    return result;
  }

  private dropIfTimedOut(error: Error | null): void {
    if (error?.message !== QUERY_READ_TIMEOUT) return;
    const stream = (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }
}
