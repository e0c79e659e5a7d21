import { relative } from 'node:path';
import { TEST_TSDB_ADMIN_URL, TEST_TSDB_NOPRELOAD_ADMIN_URL } from './env';

/** Clusters the TimescaleDB tests need, by the variable that names them (see DEVELOPERS.md). */
const CLUSTERS = {
  TEST_TSDB_ADMIN_URL: {
    url: TEST_TSDB_ADMIN_URL,
    what: 'a PostgreSQL 15 cluster with TimescaleDB 2.28 preloaded',
    example: 'postgres://postgres@127.0.0.1:5433/postgres',
  },
  TEST_TSDB_NOPRELOAD_ADMIN_URL: {
    url: TEST_TSDB_NOPRELOAD_ADMIN_URL,
    what: 'a PostgreSQL 15 cluster with the TimescaleDB packages but without it in shared_preload_libraries',
    example: 'postgres://postgres@127.0.0.1:5434/postgres',
  },
} as const;

export type TimescaleCluster = keyof typeof CLUSTERS;

/**
 * `describe` for tests that need a TimescaleDB cluster: they run when `variable` names one, and
 * are skipped with a banner saying what was skipped and how to run it (Jest's own skip is silent).
 */
export function describeWithCluster(
  variable: TimescaleCluster,
  name: string,
  body: (adminUrl: string) => void,
): void {
  const cluster = CLUSTERS[variable];
  if (cluster.url) {
    describe(name, () => body(cluster.url!));
    return;
  }
  // Straight to stderr: Jest drops the console output of a file whose tests are all skipped.
  const rule = '='.repeat(100);
  const file = relative(process.cwd(), expect.getState().testPath ?? '<this file>');
  process.stderr.write(
    `${[
      rule,
      `SKIPPED: "${name}" in ${file}`,
      `  needs ${cluster.what}; ${variable} is not set.`,
      `  Run it with: ${variable}=${cluster.example} npx jest --runInBand ${file}`,
      '  (DEVELOPERS.md describes the cluster and what each of these tests covers.)',
      rule,
    ].join('\n')}\n`,
  );
  describe.skip(`${name} [SKIPPED: ${variable} not set]`, () => body(''));
}
