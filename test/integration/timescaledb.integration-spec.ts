import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { dataSourceOptions, migrateSchema } from '../../src/database/data-source';
import { SchemaOutcome } from '../../src/database/schema';
import { MIGRATIONS } from '../../src/database/migrations';
import { FoChainViews1764300000060 } from '../../src/database/migrations/1764300000060-fo-chain-views';
import { CandleAggregatesRefresher } from '../../src/market-data/candle-aggregates.refresher';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { Candle } from '../../src/market-data/market-data.types';
import { startTestApp } from '../support/app-harness';
import { createTestDatabase, TestDatabase } from '../support/database';
import { describeWithCluster } from '../support/timescaledb';

const CALL = 333765378; // NIFTY25NOV24750CE
const PUT = 1034926082; // NIFTY25NOV24750PE
/** 09:15 IST on a Tuesday about 100 days before NOW, and two sessions just before NOW. */
const OLD_DAY = '2025-07-29T03:45:00Z';
const RECENT_DAYS = ['2025-11-03T03:45:00Z', '2025-11-04T03:45:00Z'];
const NOW = '2025-11-06T05:30:30.000Z';

/** Instruments of one strike and a full session of candles for each on the days given. */
async function writeChain(db: TestDatabase, days: string[]): Promise<void> {
  await db.query(
    `INSERT INTO instruments (instrument_token, tradingsymbol, name, instrument_type, strike, expiry)
     VALUES ($1, 'NIFTY25NOV24750CE', 'NIFTY', 'CE', 24750, '2025-11-25'),
            ($2, 'NIFTY25NOV24750PE', 'NIFTY', 'PE', 24750, '2025-11-25')
     ON CONFLICT DO NOTHING`,
    [CALL, PUT],
  );
  await db.query(
    `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, iv, source)
     SELECT t, m, 100, 102, 99, 100 + (extract(epoch FROM m)::bigint / 60) % 97 + (t % 2) * 0.25,
            75 * (1 + (extract(epoch FROM m)::bigint / 60) % 7), 150000 + (extract(epoch FROM m)::bigint / 60) % 11 * 75,
            0.14, 'history'
       FROM unnest($1::bigint[]) AS t,
            unnest($2::timestamptz[]) AS d,
            generate_series(d, d + interval '374 minutes', interval '1 minute') AS m`,
    [[CALL, PUT], days],
  );
}

const checksum = async (db: TestDatabase): Promise<{ rows: string; digest: string }> =>
  (
    await db.query<{ rows: string; digest: string }>(
      `SELECT count(*) AS rows, md5(string_agg(c::text, '|' ORDER BY instrument_token, time)) AS digest FROM candles_1m c`,
    )
  )[0];

const hypertable = async (
  db: TestDatabase,
): Promise<{ compression_enabled: boolean; num_chunks: number } | undefined> =>
  (
    await db.query<{ compression_enabled: boolean; num_chunks: number }>(
      `SELECT compression_enabled, num_chunks::int FROM timescaledb_information.hypertables WHERE hypertable_name = 'candles_1m'`,
    )
  )[0];

const policies = async (
  db: TestDatabase,
): Promise<{ proc: string; on: string; config: Record<string, unknown> }[]> =>
  db.query(
    `SELECT proc_name AS proc, hypertable_name AS on, config FROM timescaledb_information.jobs
      WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate') ORDER BY hypertable_name`,
  );

/** Rows of `aggregate` materialised for `bucket` (not computed on the fly by real-time aggregation). */
async function materialised(db: TestDatabase, aggregate: string, bucket: string): Promise<number> {
  const [table] = await db.query<{ schema: string; name: string }>(
    `SELECT materialization_hypertable_schema AS schema, materialization_hypertable_name AS name
       FROM timescaledb_information.continuous_aggregates WHERE view_name = $1`,
    [aggregate],
  );
  const [{ n }] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${table.schema}"."${table.name}" WHERE time = $1`,
    [bucket],
  );
  return n;
}

/**
 * What a conversion to TimescaleDB must leave: the extension installed, every migration's TimescaleDB
 * part replayed, the compression policy set; the same rows (`before`) moved into one chunk per day;
 * the aggregates of the newest migration (last non-null OI and greeks), as on a database migrated
 * with TimescaleDB from the start, not the first definition replayed alone; a second run changing
 * nothing.
 */
async function expectConverted(
  db: TestDatabase,
  outcome: SchemaOutcome,
  before: Awaited<ReturnType<typeof checksum>>,
): Promise<void> {
  expect(outcome.actions).toEqual([
    'installed the timescaledb extension',
    'converted to TimescaleDB: TimescaleDb1764300000001, FoChainViews1764300000060, FoChainLevels1764300000100',
    expect.stringMatching(/^compression policy added/),
  ]);
  expect(outcome.mode).toMatchObject({ timescaledb: true, aggregates: ['fo_candles_15m', 'fo_candles_5m'] });
  expect(await checksum(db)).toEqual(before);
  expect(await hypertable(db)).toEqual({ compression_enabled: true, num_chunks: 3 });
  const [{ parent }] = await db.query<{ parent: number }>(
    `SELECT count(*)::int AS parent FROM ONLY candles_1m`,
  );
  expect(parent).toBe(0);
  const definitions = await db.query<{ view_definition: string }>(
    `SELECT view_definition FROM timescaledb_information.continuous_aggregates ORDER BY view_name`,
  );
  expect(definitions).toHaveLength(2);
  for (const { view_definition: definition } of definitions)
    expect(definition).toMatch(
      /last\(candles_1m\.oi, candles_1m\."time"\) FILTER \(WHERE \(candles_1m\.oi IS NOT NULL\)\)/,
    );
  expect(await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 })).toMatchObject({
    applied: [],
    actions: [],
    warnings: [],
  });
}

describeWithCluster('TEST_TSDB_ADMIN_URL', 'TimescaleDB storage', (adminUrl) => {
  const databases: TestDatabase[] = [];
  const database = async (): Promise<TestDatabase> => {
    const db = await createTestDatabase('mds_tsdb', adminUrl);
    databases.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('gives a fresh database a compressed hypertable, the chain aggregates and the compression policy; a second run changes nothing', async () => {
    const db = await database();
    const settings = { DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_COMPRESS_AFTER_DAYS: 30 };
    const first = await migrateSchema(settings);
    expect(first.mode).toEqual({
      timescaledb: true,
      version: expect.stringMatching(/^2\./),
      aggregates: ['fo_candles_15m', 'fo_candles_5m'],
    });
    expect(first.actions).toEqual([
      'installed the timescaledb extension',
      'compression policy added: chunks older than 30 days',
    ]);
    expect(await hypertable(db)).toMatchObject({ compression_enabled: true });
    const [{ interval }] = await db.query<{ interval: string }>(
      `SELECT time_interval::text AS interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'candles_1m'`,
    );
    expect(interval).toBe('1 day');
    const jobs = await policies(db);
    expect(jobs).toEqual([
      {
        proc: 'policy_compression',
        on: 'candles_1m',
        config: expect.objectContaining({ compress_after: '30 days' }),
      },
      { proc: 'policy_refresh_continuous_aggregate', on: 'fo_candles_15m', config: expect.any(Object) },
      { proc: 'policy_refresh_continuous_aggregate', on: 'fo_candles_5m', config: expect.any(Object) },
    ]);
    const views = await db.query<{ name: string }>(
      `SELECT viewname AS name FROM pg_views WHERE viewname LIKE 'fo\\_%' ORDER BY viewname`,
    );
    expect(views.map((v) => v.name)).toEqual([
      'fo_candles_15m',
      'fo_candles_5m',
      'fo_expiry_metrics',
      'fo_expiry_metrics_15m',
      'fo_expiry_metrics_5m',
      'fo_option_strike_bars',
      'fo_option_strike_bars_15m',
      'fo_option_strike_bars_5m',
    ]);

    const second = await migrateSchema(settings);
    expect(second).toMatchObject({ applied: [], actions: [], warnings: [] });
    expect(await policies(db)).toEqual(jobs);
  });

  // A policy a migration creates can start in TimescaleDB's background workers as soon as that
  // migration commits, and a later migration of the same boot that drops its aggregate then races it
  // ("tuple concurrently deleted", a deadlock). Whether a run overlaps the drop is a matter of
  // milliseconds, so the boots are repeated, and each is watched from another session for a refresh
  // policy that was live during the boot but replaced before its end: a job the scheduler could have
  // started in the middle of the migrations, whether or not it did this time.
  it('first boots of fresh databases, again and again, never expose a refresh policy that the boot then replaces', async () => {
    const BOOTS = 20;
    const failures: string[] = [];
    const refreshJobs = async (client: Client): Promise<number[]> =>
      (
        await client.query<{ id: number }>(
          `SELECT job_id AS id FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
        )
      ).rows.map((row) => row.id);
    for (let boot = 0; boot < BOOTS; boot++) {
      const db = await createTestDatabase('mds_tsdb_boot', adminUrl);
      const watcher = new Client({ connectionString: db.url });
      await watcher.connect();
      const seen = new Set<number>();
      let watching = true;
      const watch = (async () => {
        while (watching) {
          // Until the extension is installed the view does not exist.
          const ids = await refreshJobs(watcher).catch(() => []);
          for (const id of ids) seen.add(id);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      try {
        await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_COMPRESS_AFTER_DAYS: 30 });
      } catch (error) {
        failures.push(`boot ${boot}: ${(error as Error).message}`);
      }
      watching = false;
      await watch;
      const final = new Set(await refreshJobs(watcher));
      await watcher.end();
      if (final.size !== 2) failures.push(`boot ${boot}: ${final.size} refresh policies at the end, not 2`);
      const replaced = [...seen].filter((id) => !final.has(id));
      if (replaced.length > 0)
        failures.push(
          `boot ${boot}: refresh policies ${replaced.join(', ')} were live during the boot, then replaced`,
        );
      await db.drop();
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it('applies a changed DB_COMPRESS_AFTER_DAYS by replacing the compression policy', async () => {
    const db = await database();
    await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_COMPRESS_AFTER_DAYS: 30 });
    const changed = await migrateSchema({
      DATABASE_URL: db.url,
      DB_POOL_SIZE: 1,
      DB_COMPRESS_AFTER_DAYS: 420,
    });
    expect(changed.actions).toEqual(['compression policy changed: chunks older than 420 days']);
    const compression = (await policies(db)).filter((job) => job.proc === 'policy_compression');
    expect(compression).toEqual([
      expect.objectContaining({ config: expect.objectContaining({ compress_after: '420 days' }) }),
    ]);
  });

  it('keeps DB_TIMESCALEDB=off plain, then converts with every row when `npm run migration:run` runs with auto', async () => {
    const db = await database();
    const off = await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'off' });
    expect(off.mode).toEqual({ timescaledb: false, aggregates: [], reason: 'DB_TIMESCALEDB=off' });
    expect(await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).toEqual([]);
    await writeChain(db, [OLD_DAY, ...RECENT_DAYS]);
    const before = await checksum(db);
    expect(Number(before.rows)).toBe(2 * 3 * 375);

    const converted = await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'auto' });
    expect(converted.applied).toEqual([]);
    await expectConverted(db, converted, before);
    // The chain views of the aggregates exist and agree with the minutes.
    const [bar] = await db.query<{ call_close: number; put_close: number }>(
      `SELECT call_close, put_close FROM fo_option_strike_bars_5m WHERE time = '2025-07-29T04:00:00Z'`,
    );
    const [last] = await db.query<{ close: number }>(
      `SELECT close FROM candles_1m WHERE instrument_token = $1 AND time = '2025-07-29T04:04:00Z'`,
      [CALL],
    );
    expect(bar.call_close).toBe(last.close);
  });

  it('converts a plain database that also has migrations pending: those run plain, then every TimescaleDB part in order', async () => {
    const db = await database();
    // An older release, migrated on plain PostgreSQL: the migrations up to the first chain views.
    const olderRelease = MIGRATIONS.slice(0, MIGRATIONS.indexOf(FoChainViews1764300000060) + 1);
    const older = await new DataSource({
      ...dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 }),
      migrations: olderRelease,
    }).initialize();
    try {
      await older.runMigrations({ transaction: 'each' });
    } finally {
      await older.destroy();
    }
    await writeChain(db, [OLD_DAY, ...RECENT_DAYS]);
    const before = await checksum(db);

    // This release on a server with TimescaleDB: the extension is installed before the pending
    // migrations, whose continuous aggregates cannot be made over the still plain table.
    const upgraded = await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'auto' });
    expect(upgraded.applied).toEqual(MIGRATIONS.slice(olderRelease.length).map((m) => m.name));
    await expectConverted(db, upgraded, before);
  });

  it('converts a database migrated plain at boot in auto mode, and materialises its old history in the 5-minute chain', async () => {
    const db = await database();
    await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'off' });
    await writeChain(db, [OLD_DAY, ...RECENT_DAYS]);
    const before = await checksum(db);

    const app = await startTestApp({ database: db, clock: new FixedClock(NOW) });
    try {
      const ready = await request(app.url).get('/health/ready').expect(200);
      expect(ready.body.details.database).toMatchObject({ status: 'up', timescaledb: true });
      expect(await hypertable(db)).toMatchObject({ compression_enabled: true, num_chunks: 3 });
      expect(await checksum(db)).toEqual(before);
      // The start queues the stored history once; the old session is materialised, not only
      // computed on the fly (the aggregates' real-time part covers the newest minutes only).
      await app.app.get(CandleAggregatesRefresher).idle();
      expect(await materialised(db, 'fo_candles_5m', '2025-07-29T04:00:00Z')).toBe(2);
      expect(await materialised(db, 'fo_candles_15m', '2025-07-29T04:00:00Z')).toBe(2);
      const [bar] = await db.query<{ call_volume: string; put_close: number }>(
        `SELECT call_volume, put_close FROM fo_option_strike_bars_5m WHERE time = '2025-07-29T04:00:00Z'`,
      );
      const [sums] = await db.query<{ volume: string }>(
        `SELECT sum(volume)::text AS volume FROM candles_1m
          WHERE instrument_token = $1 AND time >= '2025-07-29T04:00:00Z' AND time < '2025-07-29T04:05:00Z'`,
        [CALL],
      );
      expect(bar.call_volume).toBe(sums.volume);
    } finally {
      await app.close();
    }
  });

  it('with DB_TIMESCALEDB=off converts nothing even where the extension was installed by hand, and says so once', async () => {
    const db = await database();
    await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'off' });
    await writeChain(db, [OLD_DAY]);
    await db.query('CREATE EXTENSION timescaledb');
    const off = await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'off' });
    expect(off.warnings).toEqual([
      expect.stringMatching(/^DB_TIMESCALEDB=off, but this database already has/),
    ]);
    expect(off.actions).toEqual([]);
    expect(await hypertable(db)).toBeUndefined();
    const auto = await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    expect(auto.actions).toEqual([
      expect.stringMatching(/^converted to TimescaleDB/),
      expect.stringMatching(/^compression policy added/),
    ]);
    expect(await hypertable(db)).toMatchObject({ num_chunks: 1 });
  });

  it('without migrations at boot changes nothing, warns with the command in auto and refuses in require', async () => {
    const db = await database();
    await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1, DB_TIMESCALEDB: 'off' });
    const warnings: string[] = [];
    const logger = {
      log: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
      error: () => undefined,
    };
    const app = await startTestApp({ database: db, logger, env: { DB_MIGRATE_ON_BOOT: 'false' } });
    try {
      expect(warnings.filter((line) => /timescale/i.test(line))).toEqual([
        expect.stringMatching(/available but not installed in this database: run `npm run migration:run`/),
      ]);
      const ready = await request(app.url).get('/health/ready').expect(200);
      expect(ready.body.details.database).toMatchObject({ timescaledb: false });
    } finally {
      await app.close();
    }
    await expect(
      startTestApp({ database: db, env: { DB_MIGRATE_ON_BOOT: 'false', DB_TIMESCALEDB: 'require' } }),
    ).rejects.toThrow(/^DB_TIMESCALEDB=require, but TimescaleDB is not installed in this database yet/);
    expect(await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).toEqual([]);
  });

  describe('history upsert into compressed chunks', () => {
    let db: TestDatabase;
    let dataSource: DataSource;
    let candles: CandlesRepository;
    const OLD = Date.parse(OLD_DAY);
    /** What candles_1m must hold: close and source per token and minute. */
    const expected = new Map<string, { close: number; source: string; volume: number }>();

    const candle = (token: number, minute: number, close: number, volume = 75): Candle => ({
      instrumentToken: token,
      time: new Date(OLD + minute * MINUTE_MS),
      open: 100,
      high: Math.max(close, 101),
      low: Math.min(close, 99),
      close,
      volume,
      oi: 1000 + minute,
      iv: 0.14,
      delta: 0.5,
      gamma: 0.001,
      theta: -1.5,
      vega: 9,
      underlyingClose: 24_500,
    });
    const minutes = (from: number, count: number): number[] =>
      Array.from({ length: count }, (_, i) => from + i);
    const remember = (rows: Candle[], source: string): void => {
      for (const c of rows)
        expected.set(`${c.instrumentToken} ${c.time.toISOString()}`, {
          close: c.close,
          source,
          volume: c.volume,
        });
    };
    const stored = async (): Promise<Map<string, { close: number; source: string; volume: number }>> => {
      const rows = await db.query<{
        token: string;
        time: Date;
        close: number;
        source: string;
        volume: string;
      }>(`SELECT instrument_token AS token, time, close, source, volume FROM candles_1m ORDER BY 1, 2`);
      return new Map(
        rows.map((r) => [
          `${r.token} ${new Date(r.time).toISOString()}`,
          { close: r.close, source: r.source, volume: Number(r.volume) },
        ]),
      );
    };
    const compressAll = async (): Promise<{ chunks: number; compressed: number }> => {
      await db.query(`SELECT compress_chunk(c, if_not_compressed => TRUE) FROM show_chunks('candles_1m') c`);
      const [row] = await db.query<{ chunks: number; compressed: number }>(
        `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE is_compressed)::int AS compressed
           FROM timescaledb_information.chunks WHERE hypertable_name = 'candles_1m'`,
      );
      return row;
    };

    beforeAll(async () => {
      db = await database();
      await migrateSchema({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
      dataSource = await new DataSource(
        dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 2 }),
      ).initialize();
      candles = new CandlesRepository(dataSource);
      // Token 11 through the one-statement path (< 1,000 rows), token 12 through COPY and merge;
      // 1,500 minutes span two daily chunks. Two stream bars beside token 11's history.
      const small = minutes(0, 375).map((m) => candle(11, m, 100 + m));
      const large = minutes(0, 1500).map((m) => candle(12, m, 200 + m));
      const streamBars = [candle(11, 400, 5), candle(11, 401, 6)];
      expect(await candles.upsertHistory(small)).toBe(375);
      expect(await candles.upsertHistory(large)).toBe(1500);
      expect(await candles.mergeStreamBars(streamBars)).toBe(2);
      remember(small, 'history');
      remember(large, 'history');
      remember(streamBars, 'stream');
      expect(await compressAll()).toEqual({ chunks: 2, compressed: 2 });
    });

    afterAll(async () => dataSource?.destroy());

    it('writes nothing for unchanged candles, on both write paths', async () => {
      expect(await candles.upsertHistory(minutes(0, 375).map((m) => candle(11, m, 100 + m)))).toBe(0);
      expect(await candles.upsertHistory(minutes(0, 1500).map((m) => candle(12, m, 200 + m)))).toBe(0);
      expect(await stored()).toEqual(expected);
    });

    it('updates changed candles, replaces a stream bar and inserts new minutes, counting exactly those', async () => {
      const changedSmall = minutes(0, 100).map((m) => candle(11, m, 100.5 + m));
      expect(await candles.upsertHistory(changedSmall)).toBe(100);
      remember(changedSmall, 'history');
      // Every other minute changed, through COPY and merge: only those count.
      const mixed = minutes(0, 1500).map((m) => candle(12, m, m % 2 === 0 ? 200.5 + m : 200 + m));
      expect(await candles.upsertHistory(mixed)).toBe(750);
      remember(mixed, 'history');
      // History replaces the stream bar of its minute; new minutes of a known and a new instrument.
      const replacing = [candle(11, 401, 7), ...minutes(375, 6).map((m) => candle(11, m, 50 + m))];
      expect(await candles.upsertHistory(replacing)).toBe(7);
      remember(replacing, 'history');
      const newInstrument = minutes(0, 1200).map((m) => candle(13, m, 300 + m));
      expect(await candles.upsertHistory(newInstrument)).toBe(1200);
      remember(newInstrument, 'history');
      expect(await stored()).toEqual(expected);
      const duplicates = await db.query(
        `SELECT instrument_token, time FROM candles_1m GROUP BY 1, 2 HAVING count(*) > 1`,
      );
      expect(duplicates).toEqual([]);
    });

    it('keeps history over stream bars and merges stream bars, in compressed chunks too', async () => {
      await compressAll();
      expect(await candles.mergeStreamBars([candle(11, 0, 1, 10_000)])).toBe(0);
      const fuller = candle(11, 400, 5.5, 150);
      expect(await candles.mergeStreamBars([fuller])).toBe(1);
      remember([fuller], 'stream');
      expect(await stored()).toEqual(expected);
      // Recompressed (what the compression policy does with a partly decompressed chunk): the same rows.
      expect(await compressAll()).toMatchObject({ compressed: 2 });
      expect(await stored()).toEqual(expected);
    });
  });
});
