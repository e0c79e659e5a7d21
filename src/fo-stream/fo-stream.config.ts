import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';
import { BOOLEAN, toBoolean, toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

/** The live tick stream into 1-minute bars. */
export class FoStreamSettings {
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
}

export const streamConfig = settingsNamespace('stream', FoStreamSettings);
export type StreamConfig = ConfigType<typeof streamConfig>;
