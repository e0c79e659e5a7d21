/**
 * SQL over `candles_1m` that several reads share, as fragments to place in their statements.
 */

/**
 * The start of the newest stored minute of the instrument `token` (an SQL expression: a parameter
 * such as `$1`, or a column of the outer query), optionally only minutes before `before.at` (`<`, or
 * `<=` when `inclusive`); NULL when there is none. A scalar subquery that walks the
 * (instrument_token, time) index backwards and stops at the first row, on a plain table as on a
 * hypertable (where `max(time)` may scan every chunk).
 */
export function newestMinuteSql(token: string, before?: { at: string; inclusive?: boolean }): string {
  const bound = before ? ` AND time ${before.inclusive ? '<=' : '<'} ${before.at}` : '';
  return `(SELECT time FROM candles_1m WHERE instrument_token = ${token}${bound} ORDER BY time DESC LIMIT 1)`;
}
