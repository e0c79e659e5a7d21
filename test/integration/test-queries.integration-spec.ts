import { DataSource } from 'typeorm';
import { MarketSessionsRepository } from '../../src/common/market-sessions.repository';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { MarketCalendar, Session } from '../../src/contracts/market-time';
import { verifyDatabase, BlockResult } from '../../scripts/verify-database';
import { createTestDatabase, TestDatabase } from '../support/database';

// Wednesday 5 November 2025 is a holiday; Saturday 8 November has an evening special session (the
// shape of a Muhurat hour) in this calendar.
const calendar = new MarketCalendar(['2025-11-05'], ['2025-11-08@18:00-19:00']);
const SESSION = calendar.sessionOf('2025-11-03'); // a Monday
const LIQUID = 13660418;
const GAPPY = 13660419;

function failing(results: BlockResult[]): string[] {
  return results.filter((r) => !r.healthy).map((r) => r.name);
}

/**
 * A session of both instruments stored and fetched the way the service leaves it: the liquid one has
 * a candle in every minute, the illiquid one none in every third; one coverage row per session, as
 * when each day's fetch starts at that day's open.
 */
async function storeSession(db: TestDatabase, session: Session): Promise<void> {
  await db.query(
    `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
     SELECT t, m, 100, 101, 99, 100.5, 75, 150000 + (extract(epoch FROM m)::bigint % 7) * 75, 'history'
       FROM unnest($1::bigint[]) AS t, generate_series($2::timestamptz, $3::timestamptz - interval '1 minute', interval '1 minute') AS m
      WHERE t = $4 OR (extract(epoch FROM m)::bigint / 60) % 3 <> 0`,
    [[LIQUID, GAPPY], session.open, session.close, LIQUID],
  );
  await db.query(
    `INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles)
     SELECT t, $2, $3, (SELECT count(*) FROM candles_1m c WHERE c.instrument_token = t AND c.time >= $2 AND c.time < $3)
       FROM unnest($1::bigint[]) AS t`,
    [[LIQUID, GAPPY], session.open, session.close],
  );
}

describe('TEST_QUERIES.sql', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    dataSource = await new DataSource(
      dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 }),
    ).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db.drop();
  });

  beforeEach(async () => {
    await db.query(
      'TRUNCATE candles_1m, backfill_coverage, backfill_jobs, subscriptions, instruments, market_sessions CASCADE',
    );
    // What the service writes at boot from its configuration.
    await new MarketSessionsRepository(dataSource).replace(calendar, '2025-10-01', '2025-11-30');
    await db.query(
      `INSERT INTO instruments (instrument_token, tradingsymbol, name, instrument_type, strike, expiry)
       VALUES ($1, 'NIFTY25NOV24500CE', 'NIFTY', 'CE', 24500, '2025-11-25'),
              ($2, 'NIFTY25NOV24500PE', 'NIFTY', 'PE', 24500, '2025-11-25')`,
      [LIQUID, GAPPY],
    );
    await db.query(
      `INSERT INTO subscriptions (instrument_token, status, source, first_seen_at) VALUES ($1, 'active', 'event', now() - interval '1 hour'), ($2, 'active', 'event', now() - interval '1 hour')`,
      [LIQUID, GAPPY],
    );
    // A full session for both; the second one is illiquid: every third minute has no trade.
    await db.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
       SELECT t, m, 100, 101, 99, 100.5, 75, 150000 + (extract(epoch FROM m)::bigint % 7) * 75, 'history'
         FROM unnest($1::bigint[]) AS t, generate_series($2::timestamptz, $3::timestamptz - interval '1 minute', interval '1 minute') AS m
        WHERE t = $4 OR (extract(epoch FROM m)::bigint / 60) % 3 <> 0`,
      [[LIQUID, GAPPY], SESSION.open, SESSION.close, LIQUID],
    );
    await db.query(
      `INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles) VALUES ($1, $3, $4, 375), ($2, $3, $4, 250)`,
      [LIQUID, GAPPY, SESSION.open, SESSION.close],
    );
    await db.query(
      `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, time_to_data_ms)
       VALUES ('a', $1, 'event', $3, $4, 'succeeded', 850), ('b', $2, 'event', $3, $4, 'succeeded', 1200)`,
      [LIQUID, GAPPY, SESSION.open, SESSION.close],
    );
  });

  it('finds a healthy database healthy, illiquid empty minutes included', async () => {
    const results = await verifyDatabase(db.url);
    expect(results.filter((r) => r.kind === 'check').length).toBeGreaterThanOrEqual(6);
    expect(failing(results)).toEqual([]);
    const report = results.find((r) => r.name === 'backfill_jobs_by_trigger')!;
    expect(report.rows).toEqual([
      expect.objectContaining({ trigger: 'event', state: 'succeeded', jobs: '2' }),
    ]);
  });

  it('catches a second row inside one minute', async () => {
    await db.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, source) VALUES ($1, $2::timestamptz + interval '30 seconds', 1, 1, 1, 1, 'stream')`,
      [LIQUID, SESSION.open],
    );
    expect(failing(await verifyDatabase(db.url))).toEqual(['no_duplicate_minutes']);
  });

  it('catches candles shifted by 5h30', async () => {
    // Moved by delete and insert: a hypertable refuses an UPDATE that takes a row to another chunk.
    await db.query(
      `WITH moved AS (
         DELETE FROM candles_1m WHERE instrument_token = $1 AND time < $2::timestamptz + interval '10 minutes' RETURNING *)
       INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, source)
       SELECT instrument_token, time - interval '5 hours 30 minutes', open, high, low, close, volume, oi, source FROM moved`,
      [LIQUID, SESSION.open],
    );
    // The minutes the shift emptied lie in a fetched window, so they read as "nothing there".
    expect(failing(await verifyDatabase(db.url))).toEqual(['no_candle_outside_session']);
  });

  it('catches open interest summed over the ticks of every minute', async () => {
    await db.query(
      `UPDATE candles_1m SET oi = oi * (5 + (extract(epoch FROM time)::bigint / 60) % 30) WHERE instrument_token = $1`,
      [LIQUID],
    );
    expect(failing(await verifyDatabase(db.url))).toEqual(['oi_is_a_level']);
  });

  it('catches open interest spikes that are multiples of the level', async () => {
    await db.query(
      `UPDATE candles_1m SET oi = oi * 12 WHERE instrument_token = $1 AND (extract(epoch FROM time)::bigint / 60) % 10 = 0`,
      [LIQUID],
    );
    expect(failing(await verifyDatabase(db.url))).toEqual(['oi_is_a_level']);
  });

  it('catches minutes that were never fetched, and a subscription whose data stopped', async () => {
    await db.query(`DELETE FROM backfill_coverage WHERE instrument_token = $1`, [LIQUID]);
    await db.query(
      `INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles) VALUES ($1, $2, $2::timestamptz + interval '3 hours', 180)`,
      [LIQUID, SESSION.open],
    );
    await db.query(
      `DELETE FROM candles_1m WHERE instrument_token = $1 AND time >= $2::timestamptz + interval '4 hours'`,
      [LIQUID, SESSION.open],
    );
    expect(failing(await verifyDatabase(db.url))).toEqual([
      'active_subscriptions_have_recent_data',
      'no_coverage_gaps',
    ]);
  });

  /** Runs `work` with the chain's strike function edited (`pattern` replaced), then restores it. */
  async function withChainEdited(
    pattern: RegExp,
    replacement: string,
    work: () => Promise<void>,
  ): Promise<void> {
    const [{ definition }] = await db.query<{ definition: string }>(
      `SELECT pg_get_functiondef('fo_option_strike_bars_at'::regproc) AS definition`,
    );
    const broken = definition.replace(pattern, replacement);
    expect(broken).not.toBe(definition);
    try {
      await db.query(broken);
      await work();
    } finally {
      await db.query(definition);
    }
  }

  it('catches an option chain view that disagrees with the candles', async () => {
    await db.query(`UPDATE candles_1m SET oi = oi + 75000 WHERE instrument_token = $1`, [GAPPY]);
    expect(failing(await verifyDatabase(db.url))).toEqual([]);
    // A chain that reports the put's OI level for the call, as a broken join would.
    await withChainEdited(/co\.oi AS call_oi/, 'po.oi AS call_oi', async () => {
      expect(failing(await verifyDatabase(db.url))).toEqual([
        'chain_strike_bars_match_candles',
        'chain_totals_match_candles',
      ]);
    });
    expect(failing(await verifyDatabase(db.url))).toEqual([]);
  });

  it('catches a chain that takes OI only from the legs that traded in the minute', async () => {
    // The put's OI from its own candle: unknown in the minutes the illiquid put did not trade.
    await withChainEdited(/po\.oi AS put_oi/, 'p.oi AS put_oi', async () => {
      expect(failing(await verifyDatabase(db.url))).toEqual([
        'chain_strike_bars_match_candles',
        'chain_totals_match_candles',
      ]);
    });
  });

  it('catches a backfill success rate under 99%', async () => {
    await db.query(
      `INSERT INTO backfill_jobs (id, instrument_token, trigger, window_from, window_to, state, error)
       VALUES ('c', $1, 'sweep', $2, $3, 'failed', 'upstream 502'), ('d', $1, 'sweep', $2, $3, 'succeeded', NULL)`,
      [LIQUID, SESSION.open, SESSION.close],
    );
    expect(failing(await verifyDatabase(db.url))).toEqual(['backfill_success_rate']);
  });

  describe('over a holiday and a special session of the calendar', () => {
    // Tuesday 4, Thursday 6, Friday 7 November and the Saturday evening session, each fetched on its
    // own day: no fetched window spans the holiday on the 5th.
    const days = ['2025-11-04', '2025-11-06', '2025-11-07', '2025-11-08'];

    beforeEach(async () => {
      for (const day of days) await storeSession(db, calendar.sessionOf(day));
    });

    it('finds a healthy database healthy: the holiday has no minute to miss, the special session is a session', async () => {
      expect(calendar.sessionOf('2025-11-08').special).toBe(true);
      expect(failing(await verifyDatabase(db.url))).toEqual([]);
    });

    it('still counts the minutes that are neither stored nor fetched, and only those', async () => {
      const thursday = calendar.sessionOf('2025-11-06');
      const holeFrom = new Date(thursday.open.getTime() + 45 * 60_000); // 10:00 IST
      const holeTo = new Date(holeFrom.getTime() + 30 * 60_000);
      await db.query(`DELETE FROM candles_1m WHERE instrument_token = $1 AND time >= $2 AND time < $3`, [
        LIQUID,
        holeFrom,
        holeTo,
      ]);
      await db.query(
        `UPDATE backfill_coverage SET covered_from = $3 WHERE instrument_token = $1 AND covered_from = $2`,
        [LIQUID, thursday.open, holeTo],
      );
      await db.query(
        `INSERT INTO backfill_coverage (instrument_token, covered_from, covered_to, candles) VALUES ($1, $2, $3, 45)`,
        [LIQUID, thursday.open, holeFrom],
      );
      const results = await verifyDatabase(db.url);
      expect(failing(results)).toEqual(['no_coverage_gaps']);
      const gaps = results.find((r) => r.name === 'no_coverage_gaps')!.rows;
      expect(gaps).toEqual([
        expect.objectContaining({
          instrument_token: String(LIQUID),
          missing_minutes: '30',
          first_missing: holeFrom,
        }),
      ]);
    });

    it('catches a candle on the holiday and one outside the special session hours', async () => {
      await db.query(
        `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, source)
         VALUES ($1, '2025-11-05T05:00:00Z', 1, 1, 1, 1, 'stream'), ($1, '2025-11-08T06:00:00Z', 1, 1, 1, 1, 'stream')`,
        [LIQUID],
      );
      const results = await verifyDatabase(db.url);
      expect(failing(results)).toEqual(['no_candle_outside_session']);
      expect(results.find((r) => r.name === 'no_candle_outside_session')!.rows).toHaveLength(2);
    });

    it('says so when the service never wrote its calendar into the database', async () => {
      await db.query('TRUNCATE market_sessions');
      expect(failing(await verifyDatabase(db.url))).toEqual(['market_calendar_known']);
    });
  });
});
