import { Transform } from 'class-transformer';
import {
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
} from 'class-validator';
import { DEFAULT_NSE_HOLIDAYS } from '../contracts/market-time';

export const APP_ENVIRONMENTS = ['dev', 'staging', 'production'] as const;
export type AppEnvironment = (typeof APP_ENVIRONMENTS)[number];
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** Settings whose values never appear in a log line, an error message or an API response. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'API_KEY',
  'KITE_API_KEY',
  'KITE_ACCESS_TOKEN',
  'DATABASE_URL',
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

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE = 10;

  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  DB_MIGRATE_ON_BOOT = false;

  /** Rows older than this are compressed where TimescaleDB is present; kept beyond any backfill horizon. */
  @Transform(toNumber)
  @IsInt()
  @Min(7)
  TIMESCALE_COMPRESS_AFTER_DAYS = 30;

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
   * Minutes added to the window sent to the ticker's `/history`, to undo its 5h30 shift (330 where
   * the quirk is live, 0 where it is fixed). Returned candles are clipped to the asked window either way.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(-720)
  @Max(720)
  TICKER_WINDOW_SHIFT_MINUTES = 0;

  @IsUrl({ ...URL_OPTIONS, protocols: ['http', 'https'] })
  KITE_BASE_URL = 'https://api.kite.trade';

  @IsOptional()
  @IsString()
  KITE_API_KEY?: string;

  @IsOptional()
  @IsString()
  KITE_ACCESS_TOKEN?: string;

  /** NSE holidays as IST dates, comma separated. */
  @Transform(toList)
  @IsDateString(
    { strict: true },
    { each: true, message: '$property must be a comma-separated list of YYYY-MM-DD dates' },
  )
  MARKET_HOLIDAYS: string[] = [...DEFAULT_NSE_HOLIDAYS];

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
