import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { MIGRATION_LOCK_KEY } from '../../src/database/database.module';
import { MIGRATIONS } from '../../src/database/migrations';
import { createTestDatabase, TestDatabase } from '../support/database';
import { waitFor } from '../support/wait-for';

const ROOT = resolve(__dirname, '..', '..');

/** Runs the migration command (the Kubernetes init container's) to its end. */
function migrate(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register', 'src/migrate.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      APP_ENV: 'production',
      DATABASE_URL: databaseUrl,
      API_KEY: 'a-key-from-the-secret',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, output })));
}

describe('the migration command (run by each replica in its init container)', () => {
  let database: TestDatabase;
  let holder: Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    holder = new Client({ connectionString: database.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await database?.drop();
  });

  it('waits for the advisory lock the service migrates under, so replicas starting together migrate once', async () => {
    // Another replica (here: the test) is migrating: every command must wait for it.
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const runs = Promise.all([migrate(database.url), migrate(database.url), migrate(database.url)]);
    await waitFor(
      'three commands waiting for the migration lock',
      async () => {
        const [{ waiting }] = (
          await holder.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_locks
              WHERE locktype = 'advisory' AND objid = $1 AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            [MIGRATION_LOCK_KEY],
          )
        ).rows;
        return waiting === 3;
      },
      { timeoutMs: 45_000, intervalMs: 100 },
    );
    const tables = await holder.query(`SELECT 1 FROM pg_tables WHERE tablename = 'instruments'`);
    expect(tables.rowCount).toBe(0);
    await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);

    const done = await runs;
    for (const run of done) expect(run).toEqual({ code: 0, output: expect.any(String) });
    expect(done.filter((run) => run.output.startsWith('applied:'))).toHaveLength(1);
    expect(done.filter((run) => run.output.startsWith('schema is up to date'))).toHaveLength(2);
    const applied = await database.query<{ times: string }>(
      `SELECT count(*)::text AS times FROM schema_migrations GROUP BY name ORDER BY name`,
    );
    expect(applied.map((row) => row.times)).toEqual(MIGRATIONS.map(() => '1'));
  }, 90_000);
});
