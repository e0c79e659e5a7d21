import { Client } from 'pg';
import { createDatabase, dropDatabase } from '../../scripts/support/postgres';
import { TEST_PG_ADMIN_URL, uniqueName } from './env';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs one query on a short-lived connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of its own for one test file; `drop` removes it even with open sessions.
 * `adminUrl` picks another cluster than TEST_PG_ADMIN_URL (a TimescaleDB one, for instance).
 */
export async function createTestDatabase(
  kind = 'mds_t',
  adminUrl = TEST_PG_ADMIN_URL,
): Promise<TestDatabase> {
  return createNamedDatabase(uniqueName(kind), adminUrl);
}

/** Drops `name` if it exists and creates it empty: for a database a later step inspects. */
export async function recreateDatabase(name: string): Promise<TestDatabase> {
  await dropDatabase(TEST_PG_ADMIN_URL, name);
  return createNamedDatabase(name);
}

async function createNamedDatabase(name: string, adminUrl = TEST_PG_ADMIN_URL): Promise<TestDatabase> {
  const databaseUrl = await createDatabase(adminUrl, name);
  return {
    name,
    url: databaseUrl,
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const client = new Client({ connectionString: databaseUrl, options: '-c timezone=UTC' });
      await client.connect();
      try {
        return (await client.query(sql, params)).rows as T[];
      } finally {
        await client.end();
      }
    },
    drop: () => dropDatabase(adminUrl, name),
  };
}
