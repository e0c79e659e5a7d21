import { ConfigType } from '@nestjs/config';
import { IsString, IsUrl, Matches } from 'class-validator';
import { URL_OPTIONS } from '../config/setting-rules';
import { Secret, settingsNamespace } from '../config/settings';

/** Redis: the server, and the prefix of the ticker's channels (`<prefix>:events`, `<prefix>:options`, ...). */
export class RedisSettings {
  @Secret()
  @IsUrl({ ...URL_OPTIONS, protocols: ['redis', 'rediss'] })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^[A-Za-z0-9:_.-]+$/, { message: '$property may contain only letters, digits and : _ . -' })
  REDIS_CHANNEL_PREFIX = 'ticker:nifty';
}

export const redisConfig = settingsNamespace('redis', RedisSettings);
export type RedisConfig = ConfigType<typeof redisConfig>;
