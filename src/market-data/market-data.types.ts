/** A 1-minute candle as stored in `candles_1m`; `time` is the minute start (UTC). */
export interface Candle {
  instrumentToken: number;
  time: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  oi: number | null;
  iv: number | null;
  delta: number | null;
  gamma: number | null;
  theta: number | null;
  vega: number | null;
  underlyingClose: number | null;
}

/** What is known of an instrument; unknown fields stay null and never overwrite known values. */
export interface InstrumentInfo {
  instrumentToken: number;
  tradingsymbol?: string | null;
  name?: string | null;
  segment?: string | null;
  exchange?: string | null;
  instrumentType?: string | null;
  strike?: number | null;
  expiry?: string | null;
  lotSize?: number | null;
  tickSize?: number | null;
}

/**
 * Where a field of an instrument's description came from, weakest first: derived from its
 * tradingsymbol (and segment); stated by the ticker service (events, its subscription list, its
 * history answers: tradingsymbol and segment); the day's instrument list (Kite's `/instruments`);
 * a tick. A stored field is replaced only by a source at least as strong, so a tick's own fields win.
 */
export const DESCRIPTION_SOURCES = ['tradingsymbol', 'ticker', 'instrument_list', 'tick'] as const;
export type DescriptionSource = (typeof DESCRIPTION_SOURCES)[number];

export type DescribedField = Exclude<keyof InstrumentInfo, 'instrumentToken'>;
export const DESCRIBED_FIELDS: readonly DescribedField[] = [
  'tradingsymbol',
  'name',
  'segment',
  'exchange',
  'instrumentType',
  'strike',
  'expiry',
  'lotSize',
  'tickSize',
];

/** An instrument's fields with the source of each one that is set. */
export interface DescribedInstrument extends InstrumentInfo {
  sources: Partial<Record<DescribedField, DescriptionSource>>;
}
