import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole schema of the service. Valid on plain PostgreSQL and on TimescaleDB; the TimescaleDB
 * features are added by the next migration only where the extension exists. Every statement is
 * idempotent so a half-applied run can simply be repeated.
 */
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS instruments (
        instrument_token  bigint PRIMARY KEY CHECK (instrument_token > 0),
        tradingsymbol     text,
        name              text,
        segment           text,
        exchange          text,
        instrument_type   text,
        strike            double precision,
        expiry            date,
        lot_size          integer,
        tick_size         double precision,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX IF NOT EXISTS instruments_chain_idx ON instruments (name, expiry, strike)`);

    await q.query(`
      CREATE TABLE IF NOT EXISTS subscriptions (
        instrument_token  bigint PRIMARY KEY REFERENCES instruments (instrument_token),
        status            text NOT NULL CHECK (status IN ('active', 'inactive')),
        requested_mode    text,
        account_id        text,
        source            text NOT NULL CHECK (source IN ('event', 'reconcile', 'manual', 'stream')),
        first_seen_at     timestamptz NOT NULL DEFAULT now(),
        last_event_at     timestamptz NOT NULL DEFAULT now(),
        removed_at        timestamptz,
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS subscriptions_status_idx ON subscriptions (status, instrument_token)`,
    );

    // One row per instrument and minute start (UTC). `source` decides precedence: a history candle
    // replaces a stream-built bar, never the other way round.
    await q.query(`
      CREATE TABLE IF NOT EXISTS candles_1m (
        instrument_token  bigint NOT NULL,
        time              timestamptz NOT NULL,
        open              double precision NOT NULL,
        high              double precision NOT NULL,
        low               double precision NOT NULL,
        close             double precision NOT NULL,
        volume            bigint NOT NULL DEFAULT 0,
        oi                bigint,
        iv                double precision,
        delta             double precision,
        gamma             double precision,
        theta             double precision,
        vega              double precision,
        underlying_close  double precision,
        source            text NOT NULL CHECK (source IN ('history', 'stream')),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (instrument_token, time)
      )`);

    // A backfill run: one upstream history request for one instrument and window.
    await q.query(`
      CREATE TABLE IF NOT EXISTS backfill_jobs (
        id                text PRIMARY KEY,
        instrument_token  bigint NOT NULL,
        trigger           text NOT NULL CHECK (trigger IN ('event', 'reconcile', 'sweep', 'manual')),
        window_from       timestamptz NOT NULL,
        window_to         timestamptz NOT NULL CHECK (window_to > window_from),
        state             text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
        attempts          integer NOT NULL DEFAULT 0,
        rows_written      integer NOT NULL DEFAULT 0,
        error             text,
        requested_at      timestamptz NOT NULL DEFAULT now(),
        started_at        timestamptz,
        finished_at       timestamptz,
        duration_ms       integer,
        time_to_data_ms   integer,
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_jobs_token_idx ON backfill_jobs (instrument_token, requested_at DESC)`,
    );
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_jobs_state_idx ON backfill_jobs (state, requested_at DESC)`,
    );

    // Windows that have been fetched from the upstream, whether or not they held candles: a session
    // minute inside a covered window without a candle is "fetched, nothing there", not a gap.
    await q.query(`
      CREATE TABLE IF NOT EXISTS backfill_coverage (
        id                bigserial PRIMARY KEY,
        instrument_token  bigint NOT NULL,
        covered_from      timestamptz NOT NULL,
        covered_to        timestamptz NOT NULL CHECK (covered_to > covered_from),
        candles           integer NOT NULL,
        job_id            text,
        fetched_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS backfill_coverage_token_idx ON backfill_coverage (instrument_token, covered_to DESC)`,
    );

    // Instruments the upstream does not know (404). Not a blacklist: the row expires.
    await q.query(`
      CREATE TABLE IF NOT EXISTS unsupported_instruments (
        instrument_token  bigint PRIMARY KEY,
        reason            text NOT NULL,
        first_seen_at     timestamptz NOT NULL DEFAULT now(),
        last_seen_at      timestamptz NOT NULL DEFAULT now(),
        expires_at        timestamptz NOT NULL,
        failures          integer NOT NULL DEFAULT 1
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'unsupported_instruments',
      'backfill_coverage',
      'backfill_jobs',
      'candles_1m',
      'subscriptions',
      'instruments',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
