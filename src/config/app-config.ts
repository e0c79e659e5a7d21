import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
  IsDateString,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  parseSpecialSession,
} from '../contracts/market-time';

export const APP_ENVIRONMENTS = ['dev', 'staging', 'production'] as const;
export type AppEnvironment = (typeof APP_ENVIRONMENTS)[number];
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** The readiness checks that may be required: the two dependencies and the indicators the feature modules export. */
export const READINESS_CHECKS = [
  'database',
  'redis',
  'subscription_events',
  'backfill',
  'fo_stream',
] as const;
export type ReadinessCheckName = (typeof READINESS_CHECKS)[number];
export const TIMESCALEDB_SETTINGS = ['auto', 'require', 'off'] as const;
export const INSTRUMENT_LIST_SOURCES = ['auto', 'kite', 'ticker', 'off'] as const;
export type InstrumentListSource = (typeof INSTRUMENT_LIST_SOURCES)[number];
export type TimescaleDbSetting = (typeof TIMESCALEDB_SETTINGS)[number];

/** Settings whose values never appear in a log line, an error message or an API response. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'API_KEY',
  'KITE_API_KEY',
  'KITE_ACCESS_TOKEN',
  'DATABASE_URL',
  'DATABASE_READ_URL',
  'REDIS_URL',
]);

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return value;
};
const toNumber = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  return value.trim() === '' ? value : Number(value);
};
const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

export type WindowShiftSetting = 'auto' | number;

const toShift = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === 'auto') return 'auto';
  return text === '' ? value : Number(text);
};

/** `auto`, or whole minutes within half a day either way. */
@ValidatorConstraint({ name: 'windowShift' })
class WindowShiftConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    if (value === 'auto') return (args.object as AppConfig).TICKER_WINDOW_PROBE_INTERVAL_SECONDS > 0;
    return typeof value === 'number' && Number.isInteger(value) && value >= -720 && value <= 720;
  }
  defaultMessage(args: ValidationArguments): string {
    return args.value === 'auto'
      ? '$property=auto learns the shift from the probe: TICKER_WINDOW_PROBE_INTERVAL_SECONDS must not be 0'
      : '$property must be auto or a whole number of minutes between -720 and 720';
  }
}

/** Every entry a readable special session, at most one per date. */
@ValidatorConstraint({ name: 'specialSessions' })
class SpecialSessionsConstraint implements ValidatorConstraintInterface {
  private problem(value: unknown): string | undefined {
    if (!Array.isArray(value)) return 'not a list';
    const dates = new Set<string>();
    for (const entry of value) {
      let date: string;
      try {
        date = parseSpecialSession(entry as string).date;
      } catch (error) {
        return (error as Error).message;
      }
      if (dates.has(date)) return `two sessions on ${date}`;
      dates.add(date);
    }
    return undefined;
  }
  validate(value: unknown): boolean {
    return this.problem(value) === undefined;
  }
  defaultMessage(args: ValidationArguments): string {
    return `$property must be a comma-separated list of YYYY-MM-DD@HH:MM-HH:MM special sessions (IST, close after open, one per date): ${this.problem(args.value)}`;
  }
}

const BOOLEAN = { message: '$property must be true or false' };
const URL_OPTIONS = { require_tld: false, require_protocol: true };

/**
 * Every setting of the service, validated once at boot. Property initialisers are the defaults that
 * apply when neither the environment nor `.env.<APP_ENV>` sets a value.
 */
export class AppConfig {
  @IsIn(APP_ENVIRONMENTS)
  APP_ENV: AppEnvironment = 'dev';

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsUrl({ ...URL_OPTIONS, protocols: ['postgres', 'postgresql'] })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/marketdata';

  /**
   * PostgreSQL for the read API (REST GET routes and the UDF datafeed): a read replica where one
   * primary is not enough; unset, the primary (DATABASE_URL). Everything that decides or does work
   * (the stream, the backfill, job records, subscriptions, planning's coverage reads) stays on the
   * primary.
   */
  @IsOptional()
  @IsUrl({ ...URL_OPTIONS, protocols: ['postgres', 'postgresql'] })
  DATABASE_READ_URL?: string;

  /** Connections per replica of the ingestion pool (stream, backfill, job records, events, planning). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  /** Connections per replica of the read API's pool (DATABASE_READ_URL); never shared with ingestion. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_READ_POOL_SIZE = 10;

  // Admission control of the read API: a bounded number of reads in flight and a short, bounded wait
  // for a slot; beyond it a read is answered 503 with Retry-After at once instead of piling up.

  /** Read requests served at once per replica (each holds a slot until it has answered). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  API_READS_IN_FLIGHT = 20;

  /** Read requests that may wait for a slot; one more is refused at once. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10_000)
  API_READ_QUEUE_LENGTH = 100;

  /** The longest a read waits for a slot before it is refused. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(2000)
  API_READ_QUEUE_WAIT_MS = 250;

  // Export (GET /api/v1/export/candles): streamed from a cursor, never held whole in memory.

  /** Instruments one export may select (a whole chain of an underlying is a few thousand). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100_000)
  EXPORT_MAX_INSTRUMENTS = 10_000;

  /** Longest window of an export, in days, at intervals whose candles API allows less (1m: 31). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3660)
  EXPORT_MAX_RANGE_DAYS = 366;

  /** An export still running after this is cut off (server and client side): it holds a read connection. */
  @Transform(toNumber)
  @IsInt()
  @Min(10_000)
  @Max(86_400_000)
  EXPORT_TIMEOUT_MS = 1_800_000;

  /** Rows fetched from the cursor at a time (one round trip each; 1,000 measured as fast as 5,000 or 10,000). */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(100_000)
  EXPORT_FETCH_ROWS = 1000;

  /** Rows per Parquet row group: the writer holds one row group in memory. */
  @Transform(toNumber)
  @IsInt()
  @Min(1000)
  @Max(1_000_000)
  EXPORT_PARQUET_ROW_GROUP_ROWS = 100_000;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  DB_MIGRATE_ON_BOOT = false;

  // TimescaleDB: storage mode and compression (applied with the migrations, see README "Storage").

  /**
   * auto: TimescaleDB where the server can load it, plain tables with one warning where it is
   * installed but not preloaded; require: refuse to boot without it; off: plain tables even where
   * it is available (a database that already has the extension keeps it).
   */
  @IsIn(TIMESCALEDB_SETTINGS)
  DB_TIMESCALEDB: TimescaleDbSetting = 'auto';

  /**
   * Chunks of candles_1m whose minutes are older than this many days are compressed. Past the
   * routine backfill (BACKFILL_LOOKBACK_SESSIONS) and the stream, so only manual backfills of older
   * windows write into compressed chunks (supported, and slower: docs/PERFORMANCE.md).
   */
  @Transform(toNumber)
  @IsInt()
  @Min(7)
  @Max(3660)
  DB_COMPRESS_AFTER_DAYS = 30;

  @IsUrl({ ...URL_OPTIONS, protocols: ['redis', 'rediss'] })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^[A-Za-z0-9:_.-]+$/, { message: '$property may contain only letters, digits and : _ . -' })
  REDIS_CHANNEL_PREFIX = 'ticker:nifty';

  /** Prefix of the queue's Redis keys; separate deployments (and test runs) on one Redis use their own. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: '$property may contain only letters, digits and _ . -' })
  QUEUE_PREFIX = 'mds';

  @IsUrl({ ...URL_OPTIONS, protocols: ['http', 'https'] })
  TICKER_SERVICE_URL = 'http://127.0.0.1:8081';

  @IsOptional()
  @IsString()
  @MinLength(8)
  API_KEY?: string;

  /**
   * Staging and production refuse to start without API_KEY (the mutating routes would be open);
   * this says explicitly that they are meant to run without one.
   */
  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  API_KEY_DISABLED = false;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  SUBSCRIPTION_EVENTS_ENABLED = true;

  /** Largest accepted event payload, in bytes; the ticker's events are a few hundred. */
  @Transform(toNumber)
  @IsInt()
  @Min(256)
  @Max(1_048_576)
  SUBSCRIPTION_EVENT_MAX_BYTES = 8192;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  BACKFILL_ENABLED = true;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  BACKFILL_SUBSCRIPTION_AWARE = true;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  BACKFILL_IMMEDIATE_ON_SUBSCRIBE = true;

  @Transform(toNumber)
  @IsInt()
  @Min(10)
  @Max(86_400)
  BACKFILL_INTERVAL_SECONDS = 300;

  /** Upstream history requests per second across every replica (Kite allows 3). */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(1000)
  BACKFILL_RATE_LIMIT_PER_SECOND = 3;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(64)
  BACKFILL_CONCURRENCY = 3;

  /** Trading sessions of history kept complete for every instrument. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(60)
  BACKFILL_LOOKBACK_SESSIONS = 5;

  /**
   * How far back a manual backfill may reach (`from` of `POST /api/v1/backfill`, in days before now):
   * the minute history Kite serves, and what the market calendar written to `market_sessions` covers.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3660)
  BACKFILL_MAX_DAYS_BACK = 400;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(50)
  BACKFILL_MAX_ATTEMPTS = 8;

  /** How long an instrument the upstream does not know is left alone before it is tried again. */
  @Transform(toNumber)
  @IsInt()
  @Min(60)
  BACKFILL_UNSUPPORTED_TTL_SECONDS = 21_600;

  @IsIn(['ticker', 'kite'])
  HISTORY_PROVIDER: 'ticker' | 'kite' = 'ticker';

  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(120_000)
  HISTORY_TIMEOUT_MS = 15_000;

  /**
   * Minutes added to the window sent to the ticker's `/history`, to undo its 5h30 quirk. `auto` (the
   * default) learns it from the ticker's answers and a probe, starting from 330 because the quirk is
   * live (CONTRACTS.md section 3); a whole number is an override the service verifies and reports but
   * never changes. See docs/BACKFILL.md.
   */
  @Transform(toShift)
  @Validate(WindowShiftConstraint)
  TICKER_WINDOW_SHIFT_MINUTES: WindowShiftSetting = 'auto';

  /**
   * Seconds between probes of the ticker's window (one request of the last hour of the newest complete
   * session of TICKER_WINDOW_PROBE_TOKEN, one replica at a time); 0 turns the probe off, leaving only
   * the answers of jobs to verify an override.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(86_400)
  TICKER_WINDOW_PROBE_INTERVAL_SECONDS = 900;

  /** An instrument with a candle in every session minute, for the probe: the NIFTY 50 index. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  TICKER_WINDOW_PROBE_TOKEN = 256265;

  @IsUrl({ ...URL_OPTIONS, protocols: ['http', 'https'] })
  KITE_BASE_URL = 'https://api.kite.trade';

  @IsOptional()
  @IsString()
  KITE_API_KEY?: string;

  @IsOptional()
  @IsString()
  KITE_ACCESS_TOKEN?: string;

  /**
   * Where lot and tick sizes (and expiries and strikes) of NFO instruments come from before their
   * first tick, read at start and daily at 08:45 IST: `kite` (Kite's `GET /instruments/NFO` at
   * KITE_BASE_URL, with KITE_API_KEY and KITE_ACCESS_TOKEN), `ticker` (the same CSV at
   * TICKER_SERVICE_URL, which the bundled simulator serves), `off` (tradingsymbols alone: the lot
   * size arrives with the first tick), or `auto`: `kite` where both Kite credentials are set, else
   * `off`.
   */
  @IsIn(INSTRUMENT_LIST_SOURCES)
  INSTRUMENT_LIST_SOURCE: InstrumentListSource = 'auto';

  /**
   * NSE holidays as IST dates, comma separated (default DEFAULT_NSE_HOLIDAYS), from NSE's circulars for
   * the equity derivatives segment (the dates cross-checked against published copies of the lists, not
   * against the circulars' PDFs); recheck each December and at every new circular:
   * - 2025: circular NSE/CMTR/65587 of 13 December 2024, "Trading holidays for the calendar year
   *   2025" (14 days; the equity derivatives segment shares the list).
   * - 2026: circular NSE/CMTR/71775 (December 2025; nsearchives.nseindia.com/content/circulars/
   *   CMTR71775.pdf), 15 days; it names Sunday 8 November 2026 (Diwali Laxmi Pujan) as the day of
   *   Muhurat trading, its timings to be notified later. Plus Thursday 15 January 2026, declared a
   *   trading holiday for the Maharashtra municipal corporation elections by NSE/CMTR/72260 of
   *   12 January 2026 (CMTR72260.pdf; a settlement holiday only until then).
   */
  @Transform(toList)
  @IsDateString(
    { strict: true },
    { each: true, message: '$property must be a comma-separated list of YYYY-MM-DD dates' },
  )
  MARKET_HOLIDAYS: string[] = [...DEFAULT_NSE_HOLIDAYS];

  /**
   * Dated special sessions with their own hours (`YYYY-MM-DD@HH:MM-HH:MM`, IST, end exclusive), comma
   * separated: Muhurat trading, a weekend Budget session. Each replaces its day (holiday or weekend).
   * The default (DEFAULT_NSE_SPECIAL_SESSIONS), with its sources:
   * - 2025-02-01@09:15-15:30 (Saturday), Union Budget: live trading at regular hours, NSE circular of
   *   23 December 2024 (its reference number not confirmed here).
   * - 2025-10-21@13:45-14:45 (Tuesday, a listed holiday), Diwali Muhurat trading, pre-open from 13:30,
   *   NSE circular of 22 September 2025 (its reference number not confirmed here).
   * - 2026-02-01@09:15-15:30 (Sunday), Union Budget: live trading at regular hours, NSE Futures &
   *   Options circular of 16 January 2026 (its reference number not confirmed here).
   * - 2026-11-08@18:00-19:00 (Sunday), Diwali Muhurat trading: the day is from the 2026 holiday
   *   circular NSE/CMTR/71775, which leaves the timings to a later circular. That circular and its
   *   hours could NOT be confirmed from a source here: 18:00-19:00 is the evening hour of the 2024
   *   session (the 2025 one was 13:45-14:45), an assumption. Check NSE's Muhurat circular of 2026 and
   *   override this setting if the hours differ: until then minutes outside the assumed hour are
   *   neither planned for backfill nor accepted from the stream, and those of the assumed hour that
   *   had no trade are recorded as fetched with nothing there.
   */
  @Transform(toList)
  @Validate(SpecialSessionsConstraint)
  MARKET_SPECIAL_SESSIONS: string[] = [...DEFAULT_NSE_SPECIAL_SESSIONS];

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  FO_STREAM_ENABLED = true;

  /** Drop ticks outside the NSE session; off only for replays and tests. */
  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  FO_STREAM_SESSION_GATE = true;

  /** How long after a minute ends its bar waits for late ticks before it is written. */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(30_000)
  FO_STREAM_FLUSH_GRACE_MS = 2000;

  /**
   * Seconds added to the wall clock to make the market clock, for demos and replays outside session
   * hours (the bundled demo sets it, with the simulator on the same offset). 0 in every deployment.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(-400 * 86_400)
  @Max(400 * 86_400)
  MARKET_CLOCK_OFFSET_SECONDS = 0;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevelName = 'info';

  @IsIn(['json', 'pretty'])
  LOG_FORMAT: 'json' | 'pretty' = 'pretty';

  /** Bound on graceful shutdown; below Kubernetes' default 30 s grace period. */
  @Transform(toNumber)
  @IsInt()
  @Min(1000)
  @Max(25_000)
  SHUTDOWN_TIMEOUT_MS = 20_000;

  /** Timeout of each readiness check. */
  @Transform(toNumber)
  @IsInt()
  @Min(50)
  @Max(1000)
  HEALTH_CHECK_TIMEOUT_MS = 1000;

  // --- Faults and bad input: bounds that keep one bad message or answer from costing the service ---

  /**
   * Minutes after its last tick that the stream forgets an instrument (its volume base and its
   * registration). At least 12 hours, so an instrument quiet for most of a session (or until an
   * evening special session) keeps its day base: a glitch total below it after the lull adds nothing
   * rather than becoming a low base the next real total would count from. A new IST day starts a new
   * base anyway.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(720)
  @Max(14 * 1440)
  FO_STREAM_STATE_TTL_MINUTES = 1440;

  /**
   * The readiness checks whose failure takes the pod out of the Service (503); the others are
   * reported in the details only. Readiness decides who receives REST reads, which need PostgreSQL
   * alone: a Redis blip must not take every replica out at once. Pub/sub, the queue and the stream
   * do not come through the Service, so failing them would not help those roles either.
   */
  @Transform(toList)
  @ArrayNotEmpty({ message: '$property must name at least one check' })
  @IsIn(READINESS_CHECKS, {
    each: true,
    message: `$property must be a comma-separated list of ${READINESS_CHECKS.join(', ')}`,
  })
  HEALTH_READINESS_REQUIRES: ReadinessCheckName[] = ['database'];

  /**
   * Period of the reconciliation against the ticker's subscription list, besides the ones at boot and
   * after every reconnection of the event channel: it catches what the events never said (a ticker
   * release that stopped publishing them, its strike rebalancer). Each replica reads the list; the
   * ticker allows 100 reads a minute, and 4,500 subscriptions are 5 pages.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(30)
  @Max(86_400)
  RECONCILE_INTERVAL_SECONDS = 300;

  /**
   * A reconciliation whose list would unsubscribe more than this fraction of the active
   * subscriptions removes nothing (a ticker restarted with an empty list answers 200 and `[]`) until
   * RECONCILE_MASS_REMOVAL_CONFIRMATIONS reads in a row show it. 1 switches the guard off.
   */
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  RECONCILE_MAX_REMOVAL_FRACTION = 0.5;

  /** Below this many active subscriptions the removal guard does not apply (small sets churn). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(100_000)
  RECONCILE_REMOVAL_GUARD_MIN_ACTIVE = 10;

  /**
   * Complete reads in a row showing a mass removal before it is applied; 0 never applies it (the
   * removal events, or an operator, must then do it).
   */
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(100)
  RECONCILE_MASS_REMOVAL_CONFIRMATIONS = 3;

  /**
   * Largest upstream answer read (history, the subscription list, error pages); beyond it the read
   * stops and the request fails with a clear error. 60 days of minute candles with greeks are ~5 MB.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(65_536)
  @Max(268_435_456)
  UPSTREAM_MAX_BODY_BYTES = 16_777_216;

  // Bounds on waiting and on growth.

  /**
   * No database query waits longer: the server cancels a statement (and ends a transaction left
   * idle) after this long, and the client gives up 2 s later when the server does not answer at all.
   * Migrations run without it.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(500)
  @Max(600_000)
  DB_QUERY_TIMEOUT_MS = 30_000;

  /** Finished `backfill_jobs` records older than this are deleted by the scheduled cycle. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3650)
  BACKFILL_JOB_RETENTION_DAYS = 14;
}
