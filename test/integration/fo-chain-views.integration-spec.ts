import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MIGRATIONS } from '../../src/database/migrations';
import { FoChainViews1764300000060 } from '../../src/database/migrations/1764300000060-fo-chain-views';
import { probeTimescale } from '../../src/database/timescaledb';
import { createTestDatabase, TestDatabase } from '../support/database';
import { waitFor } from '../support/wait-for';

// Tuesday 11 November 2025, 10:00 IST, and the Friday before at the close.
const M = '2025-11-11T04:30:00Z';
const FRIDAY_CLOSE = '2025-11-07T09:59:00Z';
const EXPIRY = '2025-11-25';
// Strike 24500: call and put; 24600: call only listed; 24700: call and put.
const LEGS = [
  { token: 1, type: 'CE', strike: 24500 },
  { token: 2, type: 'PE', strike: 24500 },
  { token: 3, type: 'CE', strike: 24600 },
  { token: 4, type: 'CE', strike: 24700 },
  { token: 5, type: 'PE', strike: 24700 },
];

interface StrikeRow {
  strike: number;
  call_token: string | null;
  call_close: number | null;
  call_volume: string | null;
  call_oi: string | null;
  put_token: string | null;
  put_close: number | null;
  put_volume: string | null;
  put_oi: string | null;
}

// The chain views on plain PostgreSQL and, with TEST_PG_ADMIN_URL on the TimescaleDB cluster, the
// continuous aggregates and their chain views too.
describe('option chain views: OI as a level, last non-null in buckets', () => {
  let db: TestDatabase;
  let timescale = false;

  beforeAll(async () => {
    db = await createTestDatabase();
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    timescale = (await db.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).length > 0;
    for (const leg of LEGS)
      await db.query(
        `INSERT INTO instruments (instrument_token, name, instrument_type, strike, expiry) VALUES ($1, 'NIFTY', $2, $3, $4)`,
        [leg.token, leg.type, leg.strike, EXPIRY],
      );
  });
  afterAll(async () => db?.drop());
  beforeEach(async () => db.query('TRUNCATE candles_1m'));

  const candle = (token: number, time: string, close: number, volume: number, oi: number | null) =>
    db.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, iv, underlying_close, source)
       VALUES ($1, $2, $3, $3, $3, $3, $4, $5, 0.15, 24550, 'history')`,
      [token, time, close, volume, oi],
    );
  const minutesBefore = (minutes: number): string => new Date(Date.parse(M) - minutes * 60_000).toISOString();

  it('gives every leg its OI level at the minute, its own candle for prices and volume', async () => {
    await candle(1, M, 101, 75, 1000); // traded in M
    await candle(2, minutesBefore(3), 52, 150, 2000); // last traded three minutes before M
    await candle(2, minutesBefore(1), 53, 75, null); // a later candle without OI keeps the level
    await candle(3, FRIDAY_CLOSE, 30, 75, 4000); // last traded on Friday: still its level on Tuesday
    await candle(4, M, 20, 300, null); // traded in M, OI not in its candle: the level from before
    await candle(4, minutesBefore(10), 19, 75, 5000);
    await candle(5, '2025-11-03T09:59:00Z', 70, 75, 6000); // eight days old: no longer a level
    const strikes = await db.query<StrikeRow>(
      `SELECT strike, call_token, call_close, call_volume, call_oi, put_token, put_close, put_volume, put_oi
         FROM fo_option_strike_bars WHERE underlying = 'NIFTY' AND expiry = $1 AND time = $2 ORDER BY strike`,
      [EXPIRY, M],
    );
    expect(strikes).toEqual([
      {
        strike: 24500,
        call_token: '1',
        call_close: 101,
        call_volume: '75',
        call_oi: '1000',
        put_token: '2',
        put_close: null,
        put_volume: '0',
        put_oi: '2000',
      },
      {
        strike: 24600,
        call_token: '3',
        call_close: null,
        call_volume: '0',
        call_oi: '4000',
        put_token: null,
        put_close: null,
        put_volume: null,
        put_oi: null,
      },
      {
        strike: 24700,
        call_token: '4',
        call_close: 20,
        call_volume: '300',
        call_oi: '5000',
        put_token: null,
        put_close: null,
        put_volume: null,
        put_oi: null,
      },
    ]);
    const [metrics] = await db.query(
      `SELECT strikes, total_call_volume, total_put_volume, total_call_oi, total_put_oi, pcr_oi, pcr_volume,
              max_pain_strike, underlying_close
         FROM fo_expiry_metrics WHERE underlying = 'NIFTY' AND expiry = $1 AND time = $2`,
      [EXPIRY, M],
    );
    // Calls pay below the expiry price K, puts above: pain(24500) = 0, pain(24600) = 1000 x 100,
    // pain(24700) = 1000 x 200 + 4000 x 100.
    expect(metrics).toEqual({
      strikes: 3,
      total_call_volume: '375',
      total_put_volume: '0',
      total_call_oi: '10000',
      total_put_oi: '2000',
      pcr_oi: 0.2,
      pcr_volume: 0,
      max_pain_strike: 24500,
      underlying_close: 24550,
    });
  });

  it('weighs max pain by every level, ties to the lower strike', async () => {
    // A call level at 24700 and a put level at 24500: no K between them pays anything (a tie at 0).
    await candle(4, M, 20, 75, 1000);
    await candle(2, minutesBefore(5), 50, 75, 1000);
    await candle(1, M, 100, 75, null);
    const [{ max_pain_strike: maxPain }] = await db.query<{ max_pain_strike: number }>(
      `SELECT max_pain_strike FROM fo_expiry_metrics WHERE underlying = 'NIFTY' AND expiry = $1 AND time = $2`,
      [EXPIRY, M],
    );
    expect(maxPain).toBe(24500);
    await candle(5, minutesBefore(2), 60, 75, 5000); // a heavy put at 24700: pain now lowest at 24700
    const [after] = await db.query<{ max_pain_strike: number }>(
      `SELECT max_pain_strike FROM fo_expiry_metrics WHERE underlying = 'NIFTY' AND expiry = $1 AND time = $2`,
      [EXPIRY, M],
    );
    expect(after.max_pain_strike).toBe(24700);
  });

  it('keeps the last non-null OI and greeks of a bucket in the continuous aggregates, with their policy', async () => {
    const aggregates = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c WHERE c.relname IN ('fo_candles_5m', 'fo_candles_15m') ORDER BY 1`,
    );
    if (!timescale) {
      // Plain PostgreSQL: no continuous aggregates (and nothing to assert about them).
      expect(aggregates).toEqual([]);
      return;
    }
    expect(aggregates.map((a) => a.name)).toEqual(['fo_candles_15m', 'fo_candles_5m']);
    const bucket = '2025-11-11T04:30:00Z';
    for (let i = 0; i < 5; i++)
      await db.query(
        `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, iv, delta, underlying_close, source)
         VALUES (4, $1::timestamptz + make_interval(mins => $2), 10, 11, 9, 10 + $2, 75, $3, $4, 0.5, $5, 'history')`,
        [bucket, i, i === 4 ? null : 1000 + i, [0.1, 0.11, 0.12, null, null][i], i === 4 ? null : 24_500 + i],
      );
    const read = () =>
      db.query(
        `SELECT oi::int, iv, delta, underlying_close, close, volume::int FROM fo_candles_5m WHERE instrument_token = 4 AND time = $1`,
        [bucket],
      );
    const expected = [{ oi: 1003, iv: 0.12, delta: 0.5, underlying_close: 24_503, close: 14, volume: 375 }];
    expect(await read()).toEqual(expected); // real-time part
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`CALL refresh_continuous_aggregate('fo_candles_5m', NULL, NULL)`);
    } finally {
      await client.end();
    }
    expect(await read()).toEqual(expected); // materialised
    const [metrics] = await db.query(
      `SELECT total_call_oi::int FROM fo_expiry_metrics_5m WHERE underlying = 'NIFTY' AND expiry = $1 AND time = $2`,
      [EXPIRY, bucket],
    );
    expect(metrics).toEqual({ total_call_oi: 1003 });
    const policies = await db.query(
      `SELECT hypertable_name AS name, schedule_interval::text AS schedule,
              config->>'start_offset' AS start_offset, config->>'end_offset' AS end_offset
         FROM timescaledb_information.jobs
        WHERE proc_name = 'policy_refresh_continuous_aggregate' ORDER BY hypertable_name`,
    );
    expect(policies.map((p) => [p.name, p.schedule, p.start_offset, p.end_offset])).toEqual([
      ['fo_candles_15m', '00:15:00', '7 days', '00:15:00'],
      ['fo_candles_5m', '00:05:00', '7 days', '00:05:00'],
    ]);
  });

  it('migrates from the earlier chain views while the aggregates are being refreshed', async () => {
    const older = await createTestDatabase();
    const options = dataSourceOptions({ DATABASE_URL: older.url, DB_POOL_SIZE: 1 });
    try {
      const upTo060 = MIGRATIONS.slice(0, MIGRATIONS.indexOf(FoChainViews1764300000060) + 1);
      const before = await new DataSource({ ...options, migrations: upTo060 }).initialize();
      // Where the server has TimescaleDB preloaded, the older release ran with it too (it is installed
      // before the migrations at boot), so its aggregates and their refresh policies exist.
      const runner = before.createQueryRunner();
      try {
        const probe = await probeTimescale(runner);
        if (probe.available && probe.preloaded)
          await runner.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      } finally {
        await runner.release();
      }
      await before.runMigrations({ transaction: 'each' });
      await before.destroy();
      const installed =
        (await older.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`)).length > 0;
      if (installed) {
        // Enough minutes that a refresh takes a while; both refresh jobs started now, in the background.
        await older.query(
          `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
           SELECT t, m, 1, 1, 1, 1, 1, 1, 'history'
             FROM generate_series(1, 200) t, generate_series(now() - interval '3 days', now(), interval '1 minute') m`,
        );
        await older.query(
          `SELECT alter_job(job_id, next_start => now()) FROM timescaledb_information.jobs
            WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
        );
        await waitFor(
          'a refresh running',
          async () =>
            (
              await older.query(
                `SELECT 1 FROM pg_stat_activity
                  WHERE datname = current_database() AND backend_type LIKE 'Refresh Continuous Aggregate Policy%'`,
              )
            ).length > 0,
          { timeoutMs: 20_000, intervalMs: 20 },
        );
      }
      expect(await runMigrations({ DATABASE_URL: older.url, DB_POOL_SIZE: 1 })).toEqual(
        MIGRATIONS.slice(upTo060.length).map((m) => m.name),
      );
      const functions = await older.query<{ name: string }>(
        `SELECT proname AS name FROM pg_proc WHERE proname LIKE 'fo\\_%\\_at' ORDER BY 1`,
      );
      expect(functions.map((f) => f.name)).toEqual(
        installed
          ? [
              'fo_expiry_metrics_15m_at',
              'fo_expiry_metrics_5m_at',
              'fo_expiry_metrics_at',
              'fo_option_strike_bars_15m_at',
              'fo_option_strike_bars_5m_at',
              'fo_option_strike_bars_at',
            ]
          : ['fo_expiry_metrics_at', 'fo_option_strike_bars_at'],
      );
      if (installed) {
        const policies = await older.query(
          `SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'`,
        );
        expect(policies).toHaveLength(2);
      }
    } finally {
      await older.drop();
    }
  });
});
