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
