import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { BOOLEAN, toBoolean, toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

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
    if (value === 'auto') return (args.object as BackfillSettings).TICKER_WINDOW_PROBE_INTERVAL_SECONDS > 0;
    return typeof value === 'number' && Number.isInteger(value) && value >= -720 && value <= 720;
  }
  defaultMessage(args: ValidationArguments): string {
    return args.value === 'auto'
      ? '$property=auto learns the shift from the probe: TICKER_WINDOW_PROBE_INTERVAL_SECONDS must not be 0'
      : '$property must be auto or a whole number of minutes between -720 and 720';
  }
}

/** The backfill: its queue, schedule and limits, the history provider and the ticker window's shift. */
export class BackfillSettings {
  /** Prefix of the queue's Redis keys; separate deployments (and test runs) on one Redis use their own. */
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]+$/, { message: '$property may contain only letters, digits and _ . -' })
  QUEUE_PREFIX = 'mds';

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

  /** Finished `backfill_jobs` records older than this are deleted by the scheduled cycle. */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3650)
  BACKFILL_JOB_RETENTION_DAYS = 14;

  @IsIn(['ticker', 'kite'])
  HISTORY_PROVIDER: 'ticker' | 'kite' = 'ticker';

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
}

export const backfillConfig = settingsNamespace('backfill', BackfillSettings);
export type BackfillConfig = ConfigType<typeof backfillConfig>;
