import { MigrationInterface, QueryRunner } from 'typeorm';
import { TimescaleMigration, timescaleInstalled, timescaleInUse } from '../timescaledb';
import { CHAIN_AGGREGATES } from '../chain-aggregates';

// The option chain as views over candles_1m and instruments (plain SQL, valid on PostgreSQL and
// TimescaleDB). Where the timescaledb extension is installed, 5- and 15-minute continuous aggregates
// of candles_1m get chain views of their own (`_5m`, `_15m`); on plain PostgreSQL they do not exist.

const LEG_COLUMNS = ['open', 'high', 'low', 'close', 'volume', 'oi', 'iv', 'delta', 'gamma', 'theta', 'vega'];

/** One row per underlying, expiry, strike and bucket: the call and the put side by side. */
function strikeBarsView(name: string, source: string): string {
  // One CE and one PE per (name, expiry, strike): max() FILTER just picks that leg's value.
  const legs = (['CE', 'PE'] as const).flatMap((type) => {
    const side = type === 'CE' ? 'call' : 'put';
    return [
      `max(c.instrument_token) FILTER (WHERE i.instrument_type = '${type}') AS ${side}_token`,
      ...LEG_COLUMNS.map(
        (column) => `max(c.${column}) FILTER (WHERE i.instrument_type = '${type}') AS ${side}_${column}`,
      ),
    ];
  });
  return `
    CREATE OR REPLACE VIEW ${name} AS
    SELECT i.name AS underlying, i.expiry, i.strike, c.time,
           ${legs.join(',\n           ')},
           max(c.underlying_close) AS underlying_close
      FROM ${source} c
      JOIN instruments i ON i.instrument_token = c.instrument_token
     WHERE i.instrument_type IN ('CE', 'PE') AND i.name IS NOT NULL AND i.expiry IS NOT NULL AND i.strike IS NOT NULL
     GROUP BY i.name, i.expiry, i.strike, c.time`;
}

/**
 * One row per underlying, expiry and bucket. Max pain is the expiry price (among the listed strikes)
 * at which option holders would be paid least: calls pay OI x (K - strike) below K, puts pay
 * OI x (strike - K) above K. Written without CTEs so a filter on underlying, expiry and time reaches
 * the index scans instead of aggregating the whole table.
 */
function expiryMetricsView(name: string, strikeBars: string): string {
  return `
    CREATE OR REPLACE VIEW ${name} AS
    SELECT t.underlying, t.expiry, t.time, t.strikes,
           t.total_call_volume, t.total_put_volume, t.total_call_oi, t.total_put_oi,
           t.total_put_oi::float8 / NULLIF(t.total_call_oi, 0) AS pcr_oi,
           t.total_put_volume::float8 / NULLIF(t.total_call_volume, 0) AS pcr_volume,
           CASE WHEN t.total_call_oi + t.total_put_oi > 0 THEN p.max_pain_strike END AS max_pain_strike,
           t.underlying_close
      FROM (SELECT underlying, expiry, time, count(*)::int AS strikes,
                   COALESCE(sum(call_volume), 0)::bigint AS total_call_volume,
                   COALESCE(sum(put_volume), 0)::bigint AS total_put_volume,
                   COALESCE(sum(call_oi), 0)::bigint AS total_call_oi,
                   COALESCE(sum(put_oi), 0)::bigint AS total_put_oi,
                   max(underlying_close) AS underlying_close
              FROM ${strikeBars}
             GROUP BY underlying, expiry, time) t
      JOIN (SELECT DISTINCT ON (k.underlying, k.expiry, k.time) k.underlying, k.expiry, k.time, k.strike AS max_pain_strike
              FROM ${strikeBars} k
              JOIN ${strikeBars} s ON s.underlying = k.underlying AND s.expiry = k.expiry AND s.time = k.time
             GROUP BY k.underlying, k.expiry, k.time, k.strike
             ORDER BY k.underlying, k.expiry, k.time,
                      sum(COALESCE(s.call_oi, 0)::float8 * GREATEST(k.strike - s.strike, 0)
                        + COALESCE(s.put_oi, 0)::float8 * GREATEST(s.strike - k.strike, 0)),
                      k.strike) p
        ON p.underlying = t.underlying AND p.expiry = t.expiry AND p.time = t.time`;
}

export class FoChainViews1764300000060 implements MigrationInterface, TimescaleMigration {
  name = 'FoChainViews1764300000060';

  async up(q: QueryRunner): Promise<void> {
    // Serves the chain endpoint's "latest minute of this expiry" and the views' joins.
    await q.query(
      `CREATE INDEX IF NOT EXISTS instruments_options_idx ON instruments (name, expiry, instrument_type, strike)`,
    );
    await q.query(strikeBarsView('fo_option_strike_bars', 'candles_1m'));
    await q.query(expiryMetricsView('fo_expiry_metrics', 'fo_option_strike_bars'));
    if (await timescaleInUse(q)) await this.upTimescale(q);
  }

  /** The continuous aggregates and their chain views; replayed when TimescaleDB arrives later. */
  async upTimescale(q: QueryRunner): Promise<void> {
    for (const { suffix, width } of CHAIN_AGGREGATES) {
      const aggregate = `fo_candles_${suffix}`;
      // WITH NO DATA: a continuous aggregate may be created inside the migration's transaction only
      // without materialising. The policy keeps the last 7 days materialised; older windows are
      // refreshed after each backfill that writes them and at boot (CandleAggregatesRefresher).
      await q.query(`
        CREATE MATERIALIZED VIEW IF NOT EXISTS ${aggregate}
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT instrument_token, time_bucket(INTERVAL '${width}', time) AS time,
               first(open, time) AS open, max(high) AS high, min(low) AS low, last(close, time) AS close,
               sum(volume)::bigint AS volume, last(oi, time) AS oi, last(iv, time) AS iv,
               last(delta, time) AS delta, last(gamma, time) AS gamma, last(theta, time) AS theta,
               last(vega, time) AS vega, last(underlying_close, time) AS underlying_close
          FROM candles_1m
         GROUP BY instrument_token, time_bucket(INTERVAL '${width}', time)
        WITH NO DATA`);
      await q.query(
        `SELECT add_continuous_aggregate_policy('${aggregate}', start_offset => INTERVAL '7 days',
                end_offset => INTERVAL '${width}', schedule_interval => INTERVAL '${width}', if_not_exists => TRUE)`,
      );
      await q.query(strikeBarsView(`fo_option_strike_bars_${suffix}`, aggregate));
      await q.query(expiryMetricsView(`fo_expiry_metrics_${suffix}`, `fo_option_strike_bars_${suffix}`));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const { suffix } of CHAIN_AGGREGATES) {
      await q.query(`DROP VIEW IF EXISTS fo_expiry_metrics_${suffix}`);
      await q.query(`DROP VIEW IF EXISTS fo_option_strike_bars_${suffix}`);
      if (await timescaleInstalled(q)) await q.query(`DROP MATERIALIZED VIEW IF EXISTS fo_candles_${suffix}`);
    }
    await q.query(`DROP VIEW IF EXISTS fo_expiry_metrics`);
    await q.query(`DROP VIEW IF EXISTS fo_option_strike_bars`);
    await q.query(`DROP INDEX IF EXISTS instruments_options_idx`);
  }
}
