import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { BOOLEAN, toBoolean, toNumber } from '../config/setting-rules';
import { Secret, settingsNamespace } from '../config/settings';

/**
 * The HTTP side: the port, the API key of the mutating routes and the admission control of the read
 * API (a bounded number of reads in flight and a short, bounded wait for a slot; beyond it a read is
 * answered 503 with Retry-After at once instead of piling up).
 */
export class HttpSettings {
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Secret()
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
}

export const httpConfig = settingsNamespace('http', HttpSettings);
export type HttpConfig = ConfigType<typeof httpConfig>;
