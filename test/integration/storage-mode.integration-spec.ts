import { LoggerService } from '@nestjs/common';
import { Client } from 'pg';
import request from 'supertest';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { startTestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_PG_ADMIN_URL, TEST_REDIS_URL, uniqueName } from '../support/env';
import { startServiceProcess } from '../support/service-process';
import { describeWithCluster } from '../support/timescaledb';
import { waitFor } from '../support/wait-for';

// DB_TIMESCALEDB (auto, require, off) against what the server offers. The service and the
// migration command either run in a mode the database can give or stop with one line saying what
// to change: never a stack trace, never a half-migrated database.

interface Exit {
  code: number | null;
  lines: string[];
}

/** Runs `entry` with `env` until it exits by itself; its non-empty output lines. */
async function runToExit(env: Record<string, string>, entry = 'src/main.ts'): Promise<Exit> {
  const child = await startServiceProcess(env, { entry, waitForHttp: false });
  let code: number | null = null;
  try {
    await waitFor(
      `${entry} to exit`,
      () => child.child.exitCode !== null || child.child.signalCode !== null,
      {
        timeoutMs: 45_000,
        intervalMs: 100,
      },
    );
  } finally {
    ({ code } = await child.stop());
  }
  return {
    code,
    lines: child
      .output()
      .split('\n')
      .filter((line) => line.trim() !== ''),
  };
}

function serviceEnv(db: TestDatabase, extra: Record<string, string>): Record<string, string> {
  const prefix = uniqueName('storage');
  return {
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    DB_MIGRATE_ON_BOOT: 'true',
    LOG_LEVEL: 'warn',
    BACKFILL_ENABLED: 'false',
    FO_STREAM_ENABLED: 'false',
    SUBSCRIPTION_EVENTS_ENABLED: 'false',
    REDIS_CHANNEL_PREFIX: `${prefix}:nifty`,
    QUEUE_PREFIX: prefix,
    ...extra,
  };
}

/** Tables and extensions of a database: what a refused start must leave as it found it. */
async function contents(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT 'table ' || tablename AS name FROM pg_tables WHERE schemaname = 'public'
     UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

function capturingLogger(): LoggerService & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    warnings,
    errors,
    log: () => undefined,
    warn: (message: unknown) => void warnings.push(String(message)),
    error: (message: unknown) => void errors.push(String(message)),
    debug: () => undefined,
    verbose: () => undefined,
  };
}

const STACK_LINE = /^\s+at /;

describe('DB_TIMESCALEDB=require on the test server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('boots where the server can load TimescaleDB, and otherwise exits 1 with one line saying what to change', async () => {
    const client = new Client({ connectionString: TEST_PG_ADMIN_URL });
    await client.connect();
    const { rows } = await client
      .query<{ usable: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
            AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.bgw_launcher_poll_time') AS usable`,
      )
      .finally(() => client.end());
    if (rows[0].usable) {
      const app = await startTestApp({ database: db, env: { DB_TIMESCALEDB: 'require' } });
      try {
        const ready = await request(app.url).get('/health/ready').expect(200);
        expect(ready.body.details.database).toMatchObject({ timescaledb: true });
      } finally {
        await app.close();
      }
      return;
    }
    const exit = await runToExit(serviceEnv(db, { DB_TIMESCALEDB: 'require' }));
    expect(exit.code).toBe(1);
    expect(exit.lines).toEqual([
      expect.stringMatching(
        /^failed to start: DB_TIMESCALEDB=require, but this PostgreSQL server has no timescaledb extension/,
      ),
    ]);
    expect(await contents(db)).toEqual([]);
  });
});

describeWithCluster(
  'TEST_TSDB_NOPRELOAD_ADMIN_URL',
  'TimescaleDB installed on the server but not preloaded',
  (adminUrl) => {
    const databases: TestDatabase[] = [];
    const database = async (): Promise<TestDatabase> => {
      const db = await createTestDatabase('mds_nopreload', adminUrl);
      databases.push(db);
      return db;
    };
    afterAll(async () => {
      for (const db of databases) await db.drop();
    });

    it('auto: boots on plain tables with one warning naming shared_preload_libraries, and serves', async () => {
      const logger = capturingLogger();
      const app = await startTestApp({ adminUrl, logger });
      try {
        const mentions = logger.warnings.filter((line) => /timescale/i.test(line));
        expect(mentions).toEqual([
          expect.stringMatching(
            /not preloaded.*add 'timescaledb' to shared_preload_libraries in postgresql\.conf/,
          ),
        ]);
        expect(logger.errors).toEqual([]);
        const ready = await request(app.url).get('/health/ready').expect(200);
        expect(ready.body.details.database).toMatchObject({ status: 'up', timescaledb: false });
        const [{ relkind }] = await app.database.query<{ relkind: string }>(
          `SELECT relkind FROM pg_class WHERE relname = 'candles_1m'`,
        );
        expect(relkind).toBe('r');
        // Plain tables, same writes and reads.
        const time = new Date('2025-11-03T03:45:00Z');
        await app.app.get(CandlesRepository).upsertHistory([
          {
            instrumentToken: 256265,
            time,
            open: 1,
            high: 2,
            low: 0.5,
            close: 1.5,
            volume: 0,
            oi: null,
            iv: null,
            delta: null,
            gamma: null,
            theta: null,
            vega: null,
            underlyingClose: null,
          },
        ]);
        const candles = await request(app.url)
          .get('/api/v1/instruments/256265/candles')
          .query({ from: '2025-11-03T03:45:00Z', to: '2025-11-03T04:00:00Z', interval: '5m' })
          .expect(200);
        expect(candles.body.candles).toEqual([
          expect.objectContaining({ time: time.toISOString(), close: 1.5 }),
        ]);
      } finally {
        await app.close();
      }
    });

    it('off: plain tables without a warning', async () => {
      const logger = capturingLogger();
      const app = await startTestApp({ adminUrl, logger, env: { DB_TIMESCALEDB: 'off' } });
      try {
        expect(logger.warnings.filter((line) => /timescale/i.test(line))).toEqual([]);
        const ready = await request(app.url).get('/health/ready').expect(200);
        expect(ready.body.details.database).toMatchObject({ timescaledb: false });
      } finally {
        await app.close();
      }
    });

    it('require: the service exits 1 with one line saying what to change, and leaves the database as it was', async () => {
      const db = await database();
      const exit = await runToExit(serviceEnv(db, { DB_TIMESCALEDB: 'require' }));
      expect(exit.code).toBe(1);
      expect(exit.lines).toEqual([
        expect.stringMatching(
          /^failed to start: DB_TIMESCALEDB=require, but the server does not preload TimescaleDB .*: add 'timescaledb' to shared_preload_libraries in postgresql\.conf and restart PostgreSQL$/,
        ),
      ]);
      expect(exit.lines.filter((line) => STACK_LINE.test(line))).toEqual([]);
      expect(await contents(db)).toEqual([]);
    });

    it('`npm run migration:run`: plain with the warning in auto, one line and exit 1 in require', async () => {
      const db = await database();
      const env = { DATABASE_URL: db.url };
      const refused = await runToExit({ ...env, DB_TIMESCALEDB: 'require' }, 'src/migrate.ts');
      expect(refused).toEqual({
        code: 1,
        lines: [
          expect.stringMatching(/^DB_TIMESCALEDB=require, but the server does not preload TimescaleDB/),
        ],
      });
      const auto = await runToExit(env, 'src/migrate.ts');
      expect(auto.code).toBe(0);
      expect(auto.lines).toEqual([
        expect.stringMatching(/^applied: InitialSchema1764300000000, TimescaleDb1764300000001/),
        expect.stringMatching(/^warning: .*shared_preload_libraries/),
        'storage mode: plain PostgreSQL (TimescaleDB not preloaded)',
      ]);
    });
  },
);
