-- Verification queries for the market-data database.
--
-- Run by a person:   psql "$DATABASE_URL" -f TEST_QUERIES.sql
-- Run by CI:         npm run verify:db -- "$DATABASE_URL"   (fails on any unhealthy check)
--
-- Each block starts with a marker line. A "check" returns the offending rows: healthy is ZERO rows.
-- A "report" shows figures to read; it never fails. The reference instant is the newest stored minute
-- (the market's "now" as the database knows it), so the checks mean the same during a session, after
-- the close and on a weekend. Times are UTC in storage; IST appears only to decide session minutes.
-- Session minutes come from `market_sessions`, the service's own calendar (MARKET_HOLIDAYS and
-- MARKET_SPECIAL_SESSIONS: regular 09:15-15:29 IST weekdays that are not holidays, and each special
-- session in its own hours), which the service writes at boot for the last 400 days and the next 30.

-- check: active_subscriptions_have_recent_data
-- Every active subscription has a candle, or a fetched-and-empty window, within the last two session
-- minutes before the newest stored minute. Subscriptions younger than two minutes are still being
-- backfilled and are left out, and so are contracts that expired before the newest minute's IST day
-- (their data stops with their life). Healthy: no rows. A row names an instrument whose data stopped.
WITH ref AS (SELECT max(time) AS newest FROM candles_1m)
SELECT s.instrument_token, i.tradingsymbol, max(c.time) AS last_candle, ref.newest
  FROM subscriptions s
  CROSS JOIN ref
  LEFT JOIN instruments i USING (instrument_token)
  LEFT JOIN candles_1m c ON c.instrument_token = s.instrument_token AND c.time > ref.newest - interval '1 day'
 WHERE s.status = 'active'
   AND s.first_seen_at < now() - interval '2 minutes'
   AND ref.newest IS NOT NULL
   AND (i.expiry IS NULL OR i.expiry >= (ref.newest AT TIME ZONE 'Asia/Kolkata')::date)
 GROUP BY s.instrument_token, i.tradingsymbol, ref.newest
HAVING coalesce(max(c.time), '-infinity') < ref.newest - interval '2 minutes'
   AND NOT EXISTS (SELECT 1 FROM backfill_coverage bc
                    WHERE bc.instrument_token = s.instrument_token
                      AND bc.covered_to >= ref.newest - interval '1 minute');

-- check: no_duplicate_minutes
-- One candle per instrument and minute, each on a whole UTC minute. The primary key forbids exact
-- duplicates; a second row inside the same minute (seconds not zero) is the other way to double one.
-- Healthy: no rows.
SELECT instrument_token, date_trunc('minute', time) AS minute, count(*) AS rows
  FROM candles_1m
 GROUP BY instrument_token, date_trunc('minute', time)
HAVING count(*) > 1 OR bool_or(time <> date_trunc('minute', time));

-- check: market_calendar_known
-- The calendar the other checks rely on is there: `market_sessions` has rows up to the day of the
-- newest stored candle (the service writes them at boot). Healthy: no rows; a row means the service
-- never wrote its calendar into this database, or not for the days stored.
WITH ref AS (SELECT max(time) AS newest FROM candles_1m)
SELECT ref.newest, (ref.newest AT TIME ZONE 'Asia/Kolkata')::date AS newest_day,
       (SELECT min(session_date) FROM market_sessions) AS calendar_from,
       (SELECT max(session_date) FROM market_sessions) AS calendar_to
  FROM ref
 WHERE ref.newest IS NOT NULL
   AND coalesce((SELECT max(session_date) FROM market_sessions), '-infinity'::date)
       < (ref.newest AT TIME ZONE 'Asia/Kolkata')::date;

-- check: no_candle_outside_session
-- Every candle starts inside a session of the calendar: on a day with a `market_sessions` row, between
-- its open and close; a day without a row inside the calendar's range is closed (weekend, holiday).
-- Days outside that range are not judged. A 5h30 shift (IST stored as UTC or the other way round) puts
-- candles at 03:45-09:59 IST or 14:45-20:59 IST and shows up here. Healthy: no rows.
WITH known AS (SELECT min(session_date) AS first_day, max(session_date) AS last_day FROM market_sessions)
SELECT c.instrument_token, c.time, (c.time AT TIME ZONE 'Asia/Kolkata') AS ist
  FROM candles_1m c
 CROSS JOIN known k
 WHERE (c.time AT TIME ZONE 'Asia/Kolkata')::date BETWEEN k.first_day AND k.last_day
   AND NOT EXISTS (SELECT 1 FROM market_sessions s
                    WHERE s.session_date = (c.time AT TIME ZONE 'Asia/Kolkata')::date
                      AND c.time >= s.opens_at AND c.time < s.closes_at)
 LIMIT 100;

-- check: oi_is_a_level
-- Open interest is a level carried from minute to minute; between neighbouring minutes of a day it
-- moves by a few percent. The first implementation summed it over the ticks of each minute, so it
-- jumped by the ratio of tick counts (a multiple of the true level) from one minute to the next.
-- Healthy: no rows; a row names a day and instrument with three or more jumps of 2x or more (levels
-- under 1,000 are left out: a few lots can double honestly).
WITH seq AS (
  SELECT instrument_token, time, oi, lag(oi) OVER w AS prev_oi
    FROM candles_1m
   WHERE oi IS NOT NULL AND oi > 0
  WINDOW w AS (PARTITION BY instrument_token, (time AT TIME ZONE 'Asia/Kolkata')::date ORDER BY time)
)
SELECT instrument_token, (time AT TIME ZONE 'Asia/Kolkata')::date AS day, count(*) AS jumps,
       max(greatest(oi::numeric / prev_oi, prev_oi::numeric / oi)) AS largest_ratio
  FROM seq
 WHERE least(oi, prev_oi) >= 1000 AND (oi >= 2 * prev_oi OR prev_oi >= 2 * oi)
 GROUP BY 1, 2
HAVING count(*) >= 3;

-- check: no_coverage_gaps
-- For every active subscription: session minutes of the calendar (`market_sessions`) between its
-- first fetched window and the newest stored minute that hold no candle and lie in no fetched window.
-- Holidays and weekends have no session row, so no minute of theirs is asked for, whether or not a
-- fetched window spans them; a special session's minutes are its own hours. A contract has no minutes
-- after its expiry day's session (the sweep leaves expired contracts alone). Healthy: no rows; a row
-- counts missing minutes.
WITH ref AS (SELECT max(time) AS newest FROM candles_1m),
bounds AS (
  SELECT s.instrument_token, min(bc.covered_from) AS first_from,
         least(ref.newest - interval '2 minutes',
               (SELECT e.closes_at - interval '1 minute' FROM market_sessions e WHERE e.session_date = i.expiry)) AS last_minute
    FROM subscriptions s
    JOIN backfill_coverage bc USING (instrument_token)
    LEFT JOIN instruments i USING (instrument_token)
   CROSS JOIN ref
   WHERE s.status = 'active'
   GROUP BY s.instrument_token, i.expiry, ref.newest
),
minutes AS (
  SELECT b.instrument_token, m AS minute
    FROM bounds b
    JOIN market_sessions ms ON ms.closes_at > b.first_from AND ms.opens_at <= b.last_minute
   CROSS JOIN LATERAL generate_series(greatest(ms.opens_at, date_trunc('minute', b.first_from)),
                                      least(ms.closes_at - interval '1 minute', b.last_minute),
                                      interval '1 minute') AS m
)
SELECT mi.instrument_token, count(*) AS missing_minutes, min(mi.minute) AS first_missing, max(mi.minute) AS last_missing
  FROM minutes mi
 WHERE NOT EXISTS (SELECT 1 FROM candles_1m c WHERE c.instrument_token = mi.instrument_token AND c.time = mi.minute)
   AND NOT EXISTS (SELECT 1 FROM backfill_coverage bc
                    WHERE bc.instrument_token = mi.instrument_token
                      AND mi.minute >= bc.covered_from AND mi.minute < bc.covered_to)
 GROUP BY mi.instrument_token;

-- check: backfill_success_rate
-- Per trigger, the share of finished jobs that succeeded (or were skipped as nothing to do) over the
-- last day. Target above 99%. Healthy: no rows; a row names a trigger under target.
SELECT trigger, count(*) FILTER (WHERE state IN ('succeeded', 'skipped')) AS ok, count(*) AS finished,
       round(100.0 * count(*) FILTER (WHERE state IN ('succeeded', 'skipped')) / count(*), 2) AS success_pct
  FROM backfill_jobs
 WHERE state IN ('succeeded', 'skipped', 'failed') AND requested_at > now() - interval '1 day'
 GROUP BY trigger
HAVING count(*) FILTER (WHERE state IN ('succeeded', 'skipped')) < 0.99 * count(*);

-- check: chain_strike_bars_match_candles
-- The option chain view shows, per strike and leg (last 30 stored minutes), the leg's own candle of
-- the minute (its close and volume; without a candle no close and volume 0) and the leg's OI level:
-- its last stored non-null OI at or before the minute, at most 7 days back, whether or not it traded
-- in the minute. Healthy: no rows; a row names a strike and leg whose chain values differ.
SELECT b.underlying, b.expiry, b.strike, b.time, leg.side, leg.chain_close, c.close, leg.chain_volume,
       c.volume, leg.chain_oi, o.oi AS oi_level
  FROM fo_option_strike_bars b
 CROSS JOIN LATERAL (VALUES ('call', b.call_token, b.call_close, b.call_oi, b.call_volume),
                            ('put', b.put_token, b.put_close, b.put_oi, b.put_volume))
       AS leg (side, token, chain_close, chain_oi, chain_volume)
  LEFT JOIN candles_1m c ON c.instrument_token = leg.token AND c.time = b.time
  LEFT JOIN LATERAL (SELECT l.oi FROM candles_1m l
                      WHERE l.instrument_token = leg.token AND l.time <= b.time
                        AND l.time > b.time - interval '7 days' AND l.oi IS NOT NULL
                      ORDER BY l.time DESC LIMIT 1) o ON true
 WHERE leg.token IS NOT NULL
   AND b.time > (SELECT max(time) FROM candles_1m) - interval '30 minutes'
   AND (leg.chain_close IS DISTINCT FROM c.close OR leg.chain_oi IS DISTINCT FROM o.oi
        OR leg.chain_volume IS DISTINCT FROM coalesce(c.volume, 0));

-- check: chain_totals_match_candles
-- Per underlying, expiry and minute with an option candle (last 30 stored minutes), the chain has a
-- row; its call and put volume totals are the sums over the option candles of that minute, its OI
-- totals the sums over every listed leg of the expiry of its OI level (last non-null OI at or before
-- the minute, at most 7 days back: a leg that did not trade in the minute still counts), and PCR by
-- OI is their ratio. Healthy: no rows.
WITH minutes AS (
  SELECT DISTINCT i.name AS underlying, i.expiry, c.time
    FROM candles_1m c JOIN instruments i USING (instrument_token)
   WHERE i.instrument_type IN ('CE', 'PE') AND i.name IS NOT NULL AND i.expiry IS NOT NULL AND i.strike IS NOT NULL
     AND c.time > (SELECT max(time) FROM candles_1m) - interval '30 minutes'
), sums AS (
  SELECT m.underlying, m.expiry, m.time,
         coalesce(sum(c.volume) FILTER (WHERE i.instrument_type = 'CE'), 0) AS call_volume,
         coalesce(sum(c.volume) FILTER (WHERE i.instrument_type = 'PE'), 0) AS put_volume,
         coalesce(sum(o.oi) FILTER (WHERE i.instrument_type = 'CE'), 0) AS call_oi,
         coalesce(sum(o.oi) FILTER (WHERE i.instrument_type = 'PE'), 0) AS put_oi
    FROM minutes m
    JOIN instruments i ON i.name = m.underlying AND i.expiry = m.expiry
                      AND i.instrument_type IN ('CE', 'PE') AND i.strike IS NOT NULL
    LEFT JOIN candles_1m c ON c.instrument_token = i.instrument_token AND c.time = m.time
    LEFT JOIN LATERAL (SELECT l.oi FROM candles_1m l
                        WHERE l.instrument_token = i.instrument_token AND l.time <= m.time
                          AND l.time > m.time - interval '7 days' AND l.oi IS NOT NULL
                        ORDER BY l.time DESC LIMIT 1) o ON true
   GROUP BY 1, 2, 3
)
SELECT s.underlying, s.expiry, s.time, m.total_call_oi, s.call_oi, m.total_put_oi, s.put_oi, m.pcr_oi
  FROM sums s
  LEFT JOIN fo_expiry_metrics m USING (underlying, expiry, time)
 WHERE m.time IS NULL OR m.total_call_oi <> s.call_oi OR m.total_put_oi <> s.put_oi
    OR m.total_call_volume <> s.call_volume OR m.total_put_volume <> s.put_volume
    OR m.pcr_oi IS DISTINCT FROM s.put_oi::float8 / NULLIF(s.call_oi, 0);

-- report: backfill_jobs_by_trigger
-- Jobs by trigger and state with time-to-data percentiles (event arrival to candles committed).
-- Healthy: event p50 well under 30 s (the design target), p99 under 60 s.
SELECT trigger, state, count(*) AS jobs,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_data_ms) / 1000.0)::numeric, 3) AS ttd_p50_s,
       round((percentile_cont(0.99) WITHIN GROUP (ORDER BY time_to_data_ms) / 1000.0)::numeric, 3) AS ttd_p99_s,
       sum(rows_written) AS rows_written
  FROM backfill_jobs
 GROUP BY trigger, state
 ORDER BY trigger, state;

-- check: time_to_data_within_target
-- Event-triggered jobs of the last day whose candles took longer than 60 s (the acceptable bound) to
-- reach the database. Healthy: no rows.
SELECT id, instrument_token, time_to_data_ms, requested_at
  FROM backfill_jobs
 WHERE trigger = 'event' AND state = 'succeeded' AND time_to_data_ms > 60000
   AND requested_at > now() - interval '1 day';

-- report: coverage_by_instrument
-- Stored minutes, source mix and newest candle per active subscription.
SELECT s.instrument_token, i.tradingsymbol, count(c.*) AS candles,
       count(c.*) FILTER (WHERE c.source = 'stream') AS stream_bars, max(c.time) AS last_candle
  FROM subscriptions s
  LEFT JOIN instruments i USING (instrument_token)
  LEFT JOIN candles_1m c USING (instrument_token)
 WHERE s.status = 'active'
 GROUP BY s.instrument_token, i.tradingsymbol
 ORDER BY s.instrument_token;
