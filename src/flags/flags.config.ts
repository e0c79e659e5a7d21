import { backfillConfig } from '../backfill/backfill.config';
import { httpConfig } from '../common/http.config';
import { calendarConfig } from '../common/market-calendar.config';
import { appConfig } from '../config/app.config';
import { SettingsOf } from '../config/settings';
import { streamConfig } from '../fo-stream/fo-stream.config';
import { healthConfig } from '../health/health.config';
import { redisConfig } from '../redis/redis.config';
import { eventsConfig } from '../subscription-events/subscription-events.config';

/** The namespaces the flags show settings of (never a secret: API_KEY only as whether it is set). */
export const FLAGS_NAMESPACES = [
  appConfig,
  eventsConfig,
  backfillConfig,
  streamConfig,
  redisConfig,
  calendarConfig,
  httpConfig,
  healthConfig,
] as const;
export type FlagsConfig = SettingsOf<typeof FLAGS_NAMESPACES>;
