import { MigrationInterface, QueryRunner } from 'typeorm';
import { CHAIN_AGGREGATES } from '../chain-aggregates';
import { FoChainViews1764300000060 } from './1764300000060-fo-chain-views';
import { TimescaleMigration, timescaleInstalled, timescaleInUse } from '../timescaledb';

// The option chain with OI as a level. For a minute (or bucket) M every listed strike of the expiry
// whose call or put has a candle in M or a known OI is a row; a leg's OI is its last non-null OI at or
// before M, so totals, put-call ratio by OI and max pain cover every strike, also for a past minute or
// after the close when only some legs traded in M. Prices, volume and greeks stay the leg's own
// candle in M (no candle: no prices and greeks, volume 0). On TimescaleDB the 5- and 15-minute
// continuous aggregates take the last non-null OI, greeks and underlying level of their bucket.
// Plain SQL, valid on PostgreSQL 15 and TimescaleDB.

/**
 * How far back a leg's OI level is looked for. A level is current until the leg trades again, also
 * across a weekend and holidays (Monday 09:15 shows Friday's close), so the bound is a week: longer
 * than any exchange closure, the span the aggregates' refresh keeps, and it caps the backward index
 * scan of a leg without OI at a week of its rows. An older level is not shown.
 */
export const OI_LOOKBACK = '7 days';

const PRICE_COLUMNS = ['open', 'high', 'low', 'close'];
const GREEK_COLUMNS = ['iv', 'delta', 'gamma', 'theta', 'vega'];
const LEGS = [
  { side: 'call', type: 'CE', candle: 'c', level: 'co' },
  { side: 'put', type: 'PE', candle: 'p', level: 'po' },
] as const;

/** The columns of one strike row after (underlying, expiry), with their types. */
const STRIKE_COLUMNS: [string, string][] = [
  ['strike', 'double precision'],
  ...LEGS.flatMap(({ side }): [string, string][] => [
    [`${side}_token`, 'bigint'],
    ...PRICE_COLUMNS.map((column): [string, string] => [`${side}_${column}`, 'double precision']),
    [`${side}_volume`, 'bigint'],
    [`${side}_oi`, 'bigint'],
    ...GREEK_COLUMNS.map((column): [string, string] => [`${side}_${column}`, 'double precision']),
  ]),
  ['underlying_close', 'double precision'],
];

const METRIC_COLUMNS: [string, string][] = [
  ['strikes', 'integer'],
  ['total_call_volume', 'bigint'],
  ['total_put_volume', 'bigint'],
  ['total_call_oi', 'bigint'],
  ['total_put_oi', 'bigint'],
  ['pcr_oi', 'double precision'],
  ['pcr_volume', 'double precision'],
  ['max_pain_strike', 'double precision'],
  ['underlying_close', 'double precision'],
];

const returns = (columns: [string, string][]): string =>
  `TABLE (${columns.map(([name, type]) => `${name} ${type}`).join(', ')})`;

/** The minutes (buckets) of `source` in which any option of an expiry has a candle. */
function chainMinutes(source: string): string {
  return `SELECT DISTINCT i.name AS underlying, i.expiry, s.time
            FROM ${source} s
            JOIN instruments i ON i.instrument_token = s.instrument_token
           WHERE i.instrument_type IN ('CE', 'PE') AND i.name IS NOT NULL AND i.expiry IS NOT NULL
             AND i.strike IS NOT NULL`;
}

/**
 * The strike rows of one underlying, expiry and minute (bucket) of `source`: every listed strike whose
 * call or put has a candle in the minute or a known OI level. Per leg a primary-key lookup of its
 * candle and a backward scan of the same index for its last OI. A function of the three values, so
 * the chain endpoint's query is planned for one chain (a view over all minutes is estimated for many
 * and plans a scan of the table); the views below apply it to every chain minute.
 */
function strikeBarsFunction(name: string, source: string): string {
  const legColumns = LEGS.flatMap(({ side, candle, level }) => {
    const present = `${candle}.time IS NOT NULL OR ${level}.oi IS NOT NULL`;
    return [
      `CASE WHEN ${present} THEN k.${side}_token END AS ${side}_token`,
      ...PRICE_COLUMNS.map((column) => `${candle}.${column} AS ${side}_${column}`),
      `CASE WHEN ${present} THEN COALESCE(${candle}.volume, 0) END AS ${side}_volume`,
      `${level}.oi AS ${side}_oi`,
      ...GREEK_COLUMNS.map((column) => `${candle}.${column} AS ${side}_${column}`),
    ];
  });
  // One CE and one PE per (name, expiry, strike): max() FILTER just picks that leg's token.
  const tokens = LEGS.map(
    ({ side, type }) =>
      `max(o.instrument_token) FILTER (WHERE o.instrument_type = '${type}') AS ${side}_token`,
  );
  // LIMIT keeps each lookup a parameterised index scan of its own (never flattened into a join).
  const joins = LEGS.flatMap(({ side, candle, level }) => [
    `LEFT JOIN LATERAL (SELECT x.* FROM ${source} x
                        WHERE x.instrument_token = k.${side}_token AND x.time = at_time LIMIT 1) ${candle} ON true`,
    `LEFT JOIN LATERAL (SELECT l.oi FROM ${source} l
                        WHERE l.instrument_token = k.${side}_token AND l.time <= at_time
                          AND l.time > at_time - INTERVAL '${OI_LOOKBACK}' AND l.oi IS NOT NULL
                        ORDER BY l.time DESC LIMIT 1) ${level} ON true`,
  ]);
  return `
    CREATE FUNCTION ${name}(underlying_name text, expiry_date date, at_time timestamptz)
    RETURNS ${returns(STRIKE_COLUMNS)}
    LANGUAGE sql STABLE AS $$
    SELECT k.strike,
           ${legColumns.join(',\n           ')},
           GREATEST(c.underlying_close, p.underlying_close) AS underlying_close
      FROM (SELECT o.strike, ${tokens.join(', ')}
              FROM instruments o
             WHERE o.name = underlying_name AND o.expiry = expiry_date
               AND o.instrument_type IN ('CE', 'PE') AND o.strike IS NOT NULL
             GROUP BY o.strike) k
      ${joins.join('\n      ')}
     WHERE c.time IS NOT NULL OR p.time IS NOT NULL OR co.oi IS NOT NULL OR po.oi IS NOT NULL
    $$`;
}

/**
 * One chain's totals, put-call ratios and max pain, in one pass over its strike rows. Max pain is the
 * listed strike K at which option holders would be paid least at expiry:
 * pain(K) = sum over strikes s <= K of call_oi(s) x (K - s) + sum over s >= K of put_oi(s) x (s - K),
 * which running sums over the strikes in order give for every K at once (exact, in numeric; ties go
 * to the lower strike).
 */
function expiryMetricsFunction(name: string, strikeBars: string): string {
  const running = (oi: string, frame: string): [string, string] => [
    `COALESCE(sum(b.${oi}) OVER ${frame}, 0)`,
    `COALESCE(sum(b.${oi} * b.strike::numeric) OVER ${frame}, 0)`,
  ];
  const [callsBelow, callsBelowWeighted] = running('call_oi', 'below');
  const [putsAbove, putsAboveWeighted] = running('put_oi', 'above');
  return `
    CREATE FUNCTION ${name}(underlying_name text, expiry_date date, at_time timestamptz)
    RETURNS ${returns(METRIC_COLUMNS)}
    LANGUAGE sql STABLE AS $$
    SELECT w.strikes, w.total_call_volume, w.total_put_volume, w.total_call_oi, w.total_put_oi,
           w.total_put_oi::float8 / NULLIF(w.total_call_oi, 0),
           w.total_put_volume::float8 / NULLIF(w.total_call_volume, 0),
           CASE WHEN w.total_call_oi + w.total_put_oi > 0 THEN w.strike END,
           w.underlying_close
      FROM (SELECT b.strike,
                   (count(*) OVER every)::int AS strikes,
                   COALESCE(sum(b.call_volume) OVER every, 0)::bigint AS total_call_volume,
                   COALESCE(sum(b.put_volume) OVER every, 0)::bigint AS total_put_volume,
                   COALESCE(sum(b.call_oi) OVER every, 0)::bigint AS total_call_oi,
                   COALESCE(sum(b.put_oi) OVER every, 0)::bigint AS total_put_oi,
                   max(b.underlying_close) OVER every AS underlying_close,
                   b.strike::numeric * ${callsBelow} - ${callsBelowWeighted}
                     + ${putsAboveWeighted} - b.strike::numeric * ${putsAbove} AS pain
              FROM ${strikeBars}(underlying_name, expiry_date, at_time) b
            WINDOW every AS (),
                   below AS (ORDER BY b.strike ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
                   above AS (ORDER BY b.strike ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)) w
     ORDER BY w.pain, w.strike
     LIMIT 1
    $$`;
}

/** A view of `fn` over every chain minute of `source`: (underlying, expiry, time) then its columns. */
function chainView(name: string, fn: string, source: string, columns: [string, string][]): string {
  return `
    CREATE VIEW ${name} AS
    SELECT m.underlying, m.expiry, m.time, ${columns.map(([column]) => `f.${column}`).join(', ')}
      FROM (${chainMinutes(source)}) m
     CROSS JOIN LATERAL ${fn}(m.underlying, m.expiry, m.time) f`;
}

/** The functions and views of one source: `fo_option_strike_bars<suffix>` and `fo_expiry_metrics<suffix>`. */
function chainObjects(suffix: string, source: string): string[] {
  const strikes = `fo_option_strike_bars${suffix}`;
  const metrics = `fo_expiry_metrics${suffix}`;
  return [
    strikeBarsFunction(`${strikes}_at`, source),
    expiryMetricsFunction(`${metrics}_at`, `${strikes}_at`),
    chainView(strikes, `${strikes}_at`, source, STRIKE_COLUMNS),
    chainView(metrics, `${metrics}_at`, source, METRIC_COLUMNS),
  ];
}

/** Drops what chainObjects creates (and the views of FoChainViews1764300000060 of the same names). */
function dropChainObjects(suffix: string): string[] {
  return [
    `DROP VIEW IF EXISTS fo_expiry_metrics${suffix}`,
    `DROP VIEW IF EXISTS fo_option_strike_bars${suffix}`,
    `DROP FUNCTION IF EXISTS fo_expiry_metrics${suffix}_at(text, date, timestamptz)`,
    `DROP FUNCTION IF EXISTS fo_option_strike_bars${suffix}_at(text, date, timestamptz)`,
  ];
}

/** Last non-null of a level in a bucket: last() alone would return the bucket's last minute's null. */
const lastKnown = (column: string): string =>
  `last(${column}, time) FILTER (WHERE ${column} IS NOT NULL) AS ${column}`;

function continuousAggregate(name: string, width: string): string {
  return `
    CREATE MATERIALIZED VIEW ${name}
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT instrument_token, time_bucket(INTERVAL '${width}', time) AS time,
           first(open, time) AS open, max(high) AS high, min(low) AS low, last(close, time) AS close,
           sum(volume)::bigint AS volume,
           ${['oi', 'iv', 'delta', 'gamma', 'theta', 'vega', 'underlying_close'].map(lastKnown).join(',\n           ')}
      FROM candles_1m
     GROUP BY instrument_token, time_bucket(INTERVAL '${width}', time)
    WITH NO DATA`;
}

/**
 * Removes the aggregates' refresh jobs before the aggregates are dropped, and waits until a refresh
 * in progress has ended: dropping an aggregate whose refresh is running (or two of them in one
 * transaction) fails with "tuple concurrently deleted" or a deadlock. Deleted first, so the scheduler
 * starts no new run; then the workers still running one are ended and waited for (at most 10 s
 * each). The policies are added again with the aggregates.
 */
async function stopRefreshJobs(q: QueryRunner): Promise<void> {
  const jobs: { job_id: number }[] = await q.query(
    `SELECT job_id FROM timescaledb_information.jobs
      WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = ANY($1)
      ORDER BY job_id`,
    [CHAIN_AGGREGATES.map(({ suffix }) => `fo_candles_${suffix}`)],
  );
  for (const { job_id: id } of jobs) await q.query(`SELECT delete_job($1)`, [id]);
  if (jobs.length === 0) return;
  await q.query(`SELECT pg_stat_clear_snapshot()`);
  await q.query(
    `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = ANY($1)`,
    [jobs.map(({ job_id: id }) => `Refresh Continuous Aggregate Policy [${id}]`)],
  );
}

/** The refresh policy of FoChainViews1764300000060, unchanged. */
function refreshPolicy(aggregate: string, width: string): string {
  return `SELECT add_continuous_aggregate_policy('${aggregate}', start_offset => INTERVAL '7 days',
                 end_offset => INTERVAL '${width}', schedule_interval => INTERVAL '${width}', if_not_exists => TRUE)`;
}

export class FoChainLevels1764300000100 implements MigrationInterface, TimescaleMigration {
  name = 'FoChainLevels1764300000100';

  async up(q: QueryRunner): Promise<void> {
    // The views' columns change meaning, not only their text: dropped and created again.
    for (const sql of [...dropChainObjects(''), ...chainObjects('', 'candles_1m')]) await q.query(sql);
    if (await timescaleInUse(q)) await this.upTimescale(q);
  }

  /**
   * The aggregates with last non-null values and their chain objects; replayed after
   * FoChainViews1764300000060's part when TimescaleDB arrives later (idempotent: drops, then creates).
   */
  async upTimescale(q: QueryRunner): Promise<void> {
    await stopRefreshJobs(q);
    for (const { suffix, width } of CHAIN_AGGREGATES) {
      const aggregate = `fo_candles_${suffix}`;
      for (const sql of dropChainObjects(`_${suffix}`)) await q.query(sql);
      // A continuous aggregate's query cannot be altered: dropped (its policy with it) and created
      // again WITH NO DATA (allowed inside the migration's transaction); the policy refills it.
      await q.query(`DROP MATERIALIZED VIEW IF EXISTS ${aggregate}`);
      await q.query(continuousAggregate(aggregate, width));
      await q.query(refreshPolicy(aggregate, width));
      for (const sql of chainObjects(`_${suffix}`, aggregate)) await q.query(sql);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // Back to the views and aggregates of FoChainViews1764300000060: drop these, and let that
    // migration's up() (idempotent) create its own again.
    const timescale = await timescaleInstalled(q);
    if (timescale) await stopRefreshJobs(q);
    for (const { suffix } of CHAIN_AGGREGATES) {
      for (const sql of dropChainObjects(`_${suffix}`)) await q.query(sql);
      if (timescale) await q.query(`DROP MATERIALIZED VIEW IF EXISTS fo_candles_${suffix}`);
    }
    for (const sql of dropChainObjects('')) await q.query(sql);
    await new FoChainViews1764300000060().up(q);
  }
}
