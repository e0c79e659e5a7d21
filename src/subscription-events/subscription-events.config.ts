import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsNumber, Max, Min } from 'class-validator';
import { BOOLEAN, toBoolean, toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

/** The subscription events and the reconciliation against the ticker's subscription list. */
export class SubscriptionEventsSettings {
  @Transform(toBoolean)
  @IsBoolean(BOOLEAN)
  SUBSCRIPTION_EVENTS_ENABLED = true;

  /** Largest accepted event payload, in bytes; the ticker's events are a few hundred. */
  @Transform(toNumber)
  @IsInt()
  @Min(256)
  @Max(1_048_576)
  SUBSCRIPTION_EVENT_MAX_BYTES = 8192;

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
}

export const eventsConfig = settingsNamespace('events', SubscriptionEventsSettings);
export type EventsConfig = ConfigType<typeof eventsConfig>;
