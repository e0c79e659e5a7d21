/** The services the process cannot work without; their outages are nobody's fault in particular. */
export type Dependency = 'database' | 'redis';

/** Socket-level failures: the peer refused, went away or never answered. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve right now: class 08 (connection exception),
 * shutting down or starting (57P01-57P03), out of connections (53300). A statement cancelled by
 * `statement_timeout` (57014) is not among them: the server answered, and the statement may be slow
 * for a reason of its own (a lock, a large write); see `isStatementTimeout`.
 */
const SERVER_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** SQLSTATE of a statement the server cancelled at `statement_timeout` (DB_QUERY_TIMEOUT_MS). */
const STATEMENT_TIMEOUT = '57014';

/** SQLSTATE of a lock that was not available (`lock_not_available`), e.g. a refresh already running. */
const LOCK_NOT_AVAILABLE = '55P03';

/** Messages of pg, pg-pool and ioredis that carry no code. */
const MESSAGES = [
  'Connection terminated',
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Connection is closed',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
];

/**
 * Whether `error` says the database or Redis could not be reached or did not answer, rather than
 * refusing the request itself (bad data, a constraint). TypeORM wraps the driver's error
 * (`driverError`), Node wraps causes (`cause`): both are looked through.
 */
export function isConnectionError(error: unknown): boolean {
  return someLayer(error, (code, message) => {
    if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || SERVER_UNAVAILABLE_STATES.has(code)))
      return true;
    return MESSAGES.some((text) => message.includes(text));
  });
}

/**
 * Whether the server cancelled the statement at `statement_timeout`. The server was there to say so:
 * whether it is unavailable (overloaded, every query slow) or only this statement is slow (waiting
 * for a lock, too much work) is for the caller to find out, with a probe of its own.
 */
export function isStatementTimeout(error: unknown): boolean {
  return someLayer(error, (code) => code === STATEMENT_TIMEOUT);
}

/** Whether the server refused for a lock that another session holds (`lock_not_available`). */
export function isLockNotAvailable(error: unknown): boolean {
  return someLayer(error, (code) => code === LOCK_NOT_AVAILABLE);
}

/**
 * Whether SQLSTATE `code` is a server asking to be asked again rather than refusing the statement's
 * rows: transaction rollback (class 40: a deadlock between replicas writing the same minutes, a
 * serialization failure), insufficient resources (class 53: disk full, out of memory, too many
 * connections), a lock not available (55P03), a statement cancelled at `statement_timeout` (57014).
 */
export function isRetryableServerState(code: string | undefined): boolean {
  return (
    code !== undefined &&
    (code.startsWith('40') || code.startsWith('53') || code === LOCK_NOT_AVAILABLE || code === STATEMENT_TIMEOUT)
  );
}

/** The PostgreSQL SQLSTATE that `error` (or an error it wraps) carries, if any. */
export function sqlstateOf(error: unknown): string | undefined {
  let state: string | undefined;
  someLayer(error, (code) => {
    // Five characters, as pg reports them; a socket's code (EPIPE) is not one.
    if (code && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_CODES.has(code)) state = code;
    return state !== undefined;
  });
  return state;
}

/** `test` on `error` and the errors it wraps (TypeORM's `driverError`, Node's `cause`). */
function someLayer(error: unknown, test: (code: string | undefined, message: string) => boolean): boolean {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      driverError?: unknown;
      cause?: unknown;
    };
    const code = typeof candidate.code === 'string' ? candidate.code : undefined;
    const message = typeof candidate.message === 'string' ? candidate.message : '';
    if (test(code, message)) return true;
    current = candidate.driverError ?? candidate.cause;
  }
  return false;
}

/** A call to `dependency` failed for want of a connection; the work that made it is not to blame. */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: Dependency,
    override readonly cause: unknown,
  ) {
    super(`${dependency} unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'DependencyUnavailableError';
  }
}
