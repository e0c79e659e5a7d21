import { randomBytes } from 'node:crypto';

// The only place tests read the environment: where the shared PostgreSQL and Redis are.
export const TEST_PG_ADMIN_URL =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A TimescaleDB cluster (preloaded): the tests of the TimescaleDB paths run only where it is set. */
export const TEST_TSDB_ADMIN_URL = process.env.TEST_TSDB_ADMIN_URL || undefined;
/** A cluster whose packages include TimescaleDB but whose shared_preload_libraries lacks it. */
export const TEST_TSDB_NOPRELOAD_ADMIN_URL = process.env.TEST_TSDB_NOPRELOAD_ADMIN_URL || undefined;

export function uniqueName(kind: string): string {
  return `${kind}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
/**
 * The browser of the page tests: a Chromium executable's path, or `bundled` for the build the dev
 * dependency `@sparticuz/chromium` carries; unset, Debian's `/usr/bin/chromium` where it is
 * installed and the bundled build elsewhere (test/support/chromium.ts).
 */
export const TEST_CHROMIUM = process.env.TEST_CHROMIUM || undefined;
