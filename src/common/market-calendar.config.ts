import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import {
  IsDateString,
  IsInt,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { parseSpecialSession } from '../contracts/market-time';
import { DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS } from '../contracts/nse-calendar';
import { toList, toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

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

/**
 * The NSE calendar: holidays and special sessions, how far back it is written to `market_sessions`
 * (and so how far back a manual backfill may start), and the market clock's offset for demos.
 */
export class MarketCalendarSettings {
  /** NSE holidays as IST dates, comma separated; the default and its sources: src/contracts/nse-calendar.ts. */
  @Transform(toList)
  @IsDateString(
    { strict: true },
    { each: true, message: '$property must be a comma-separated list of YYYY-MM-DD dates' },
  )
  MARKET_HOLIDAYS: string[] = [...DEFAULT_NSE_HOLIDAYS];

  /**
   * Dated special sessions with their own hours (`YYYY-MM-DD@HH:MM-HH:MM`, IST, end exclusive), comma
   * separated: Muhurat trading, a weekend Budget session. Each replaces its day (holiday or weekend).
   * The default and its sources, with what they leave unconfirmed: src/contracts/nse-calendar.ts.
   */
  @Transform(toList)
  @Validate(SpecialSessionsConstraint)
  MARKET_SPECIAL_SESSIONS: string[] = [...DEFAULT_NSE_SPECIAL_SESSIONS];

  /**
   * How far back a manual backfill may reach (`from` of `POST /api/v1/backfill`, in days before now):
   * the minute history Kite serves, and what the market calendar written to `market_sessions` covers.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(3660)
  BACKFILL_MAX_DAYS_BACK = 400;

  /**
   * Seconds added to the wall clock to make the market clock, for demos and replays outside session
   * hours (the bundled demo sets it, with the simulator on the same offset). 0 in every deployment.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(-400 * 86_400)
  @Max(400 * 86_400)
  MARKET_CLOCK_OFFSET_SECONDS = 0;
}

export const calendarConfig = settingsNamespace('calendar', MarketCalendarSettings);
export type CalendarConfig = ConfigType<typeof calendarConfig>;
