// The three index underlyings the ticker service streams. Index tokens are Kite's real ones; the
// levels and volatilities are plausible for late 2025 and only anchor the simulated walk.

export type UnderlyingName = 'NIFTY' | 'BANKNIFTY' | 'FINNIFTY';
export const UNDERLYING_NAMES: readonly UnderlyingName[] = ['NIFTY', 'BANKNIFTY', 'FINNIFTY'];

export interface UnderlyingSpec {
  name: UnderlyingName;
  /** Small integer used inside contract tokens. */
  code: number;
  indexToken: number;
  indexSymbol: string;
  strikeStep: number;
  lotSize: number;
  /** Level the simulated walk wanders around (it mean-reverts, so any date stays near it). */
  baseLevel: number;
  /** At-the-money implied volatility around which the simulated iv moves. */
  baseIv: number;
  /** Since November 2024 NSE lists weekly options on NIFTY only. */
  weeklyOptions: boolean;
}

export const UNDERLYINGS: Readonly<Record<UnderlyingName, UnderlyingSpec>> = {
  NIFTY: {
    name: 'NIFTY',
    code: 0,
    indexToken: 256265,
    indexSymbol: 'NIFTY 50',
    strikeStep: 50,
    lotSize: 75,
    baseLevel: 24_500,
    baseIv: 0.14,
    weeklyOptions: true,
  },
  BANKNIFTY: {
    name: 'BANKNIFTY',
    code: 1,
    indexToken: 260105,
    indexSymbol: 'NIFTY BANK',
    strikeStep: 100,
    lotSize: 35,
    baseLevel: 52_000,
    baseIv: 0.16,
    weeklyOptions: false,
  },
  FINNIFTY: {
    name: 'FINNIFTY',
    code: 2,
    indexToken: 257801,
    indexSymbol: 'NIFTY FIN SERVICE',
    strikeStep: 50,
    lotSize: 65,
    baseLevel: 23_800,
    baseIv: 0.15,
    weeklyOptions: false,
  },
};

export const TICK_SIZE = 0.05;
/** Risk-free rate used for pricing (Indian T-bill yields, late 2025). */
export const RISK_FREE_RATE = 0.065;
