import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { ArrayNotEmpty, IsIn, IsInt, Max, Min } from 'class-validator';
import { toList, toNumber } from '../config/setting-rules';
import { settingsNamespace } from '../config/settings';

/** The readiness checks that may be required: the two dependencies and the indicators the feature modules export. */
export const READINESS_CHECKS = [
  'database',
  'redis',
  'subscription_events',
  'backfill',
  'fo_stream',
] as const;
export type ReadinessCheckName = (typeof READINESS_CHECKS)[number];

/** Liveness and readiness. */
export class HealthSettings {
  /** Timeout of each readiness check. */
  @Transform(toNumber)
  @IsInt()
  @Min(50)
  @Max(1000)
  HEALTH_CHECK_TIMEOUT_MS = 1000;

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
}

export const healthConfig = settingsNamespace('health', HealthSettings);
export type HealthConfig = ConfigType<typeof healthConfig>;
