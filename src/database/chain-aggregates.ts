/**
 * The continuous aggregates of the option chain (TimescaleDB): `fo_candles_<suffix>` over `candles_1m`,
 * with their chain views. Shared by the migrations that create them and the code that refreshes and
 * checks them, so runtime code never imports a migration.
 */
export const CHAIN_AGGREGATES = [
  { suffix: '5m', width: '5 minutes', minutes: 5 },
  { suffix: '15m', width: '15 minutes', minutes: 15 },
] as const;
