import { ConfigType } from '@nestjs/config';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { toNumber, URL_OPTIONS } from '../config/setting-rules';
import { Secret, settingsNamespace } from '../config/settings';

/** The upstreams: the ticker service and Kite Connect, their credentials and the bounds on reading them. */
export class UpstreamSettings {
  @IsUrl({ ...URL_OPTIONS, protocols: ['http', 'https'] })
  TICKER_SERVICE_URL = 'http://127.0.0.1:8081';

  @IsUrl({ ...URL_OPTIONS, protocols: ['http', 'https'] })
  KITE_BASE_URL = 'https://api.kite.trade';

  @Secret()
  @IsOptional()
  @IsString()
  KITE_API_KEY?: string;

  @Secret()
  @IsOptional()
  @IsString()
  KITE_ACCESS_TOKEN?: string;

  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(120_000)
  HISTORY_TIMEOUT_MS = 15_000;

  /**
   * Largest upstream answer read (history, the subscription list, error pages); beyond it the read
   * stops and the request fails with a clear error. 60 days of minute candles with greeks are ~5 MB.
   */
  @Transform(toNumber)
  @IsInt()
  @Min(65_536)
  @Max(268_435_456)
  UPSTREAM_MAX_BODY_BYTES = 16_777_216;
}

export const upstreamConfig = settingsNamespace('upstream', UpstreamSettings);
export type UpstreamConfig = ConfigType<typeof upstreamConfig>;
