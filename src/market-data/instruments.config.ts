import { ConfigType } from '@nestjs/config';
import { IsIn } from 'class-validator';
import { settingsNamespace } from '../config/settings';

export const INSTRUMENT_LIST_SOURCES = ['auto', 'kite', 'ticker', 'off'] as const;
export type InstrumentListSource = (typeof INSTRUMENT_LIST_SOURCES)[number];

/** Where the instrument list (lot and tick sizes before the first tick) comes from. */
export class InstrumentsSettings {
  /**
   * Where lot and tick sizes (and expiries and strikes) of NFO instruments come from before their
   * first tick, read at start and daily at 08:45 IST: `kite` (Kite's `GET /instruments/NFO` at
   * KITE_BASE_URL, with KITE_API_KEY and KITE_ACCESS_TOKEN), `ticker` (the same CSV at
   * TICKER_SERVICE_URL, which the bundled simulator serves), `off` (tradingsymbols alone: the lot
   * size arrives with the first tick), or `auto`: `kite` where both Kite credentials are set, else
   * `off`.
   */
  @IsIn(INSTRUMENT_LIST_SOURCES)
  INSTRUMENT_LIST_SOURCE: InstrumentListSource = 'auto';
}

export const instrumentsConfig = settingsNamespace('instruments', InstrumentsSettings);
export type InstrumentsConfig = ConfigType<typeof instrumentsConfig>;
