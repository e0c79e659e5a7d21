import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '../database/data-source';
import { newestMinuteSql } from './candles.queries';

type LegColumn =
  'token' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'oi' | 'iv' | 'delta' | 'gamma' | 'theta' | 'vega';

export type StrikeBarRow = { strike: number; underlying_close: number | null } & {
  [K in `call_${LegColumn}` | `put_${LegColumn}`]: number | string | null;
};

export interface ExpiryMetricsRow {
  total_call_volume: string;
  total_put_volume: string;
  total_call_oi: string;
  total_put_oi: string;
  pcr_oi: number | null;
  pcr_volume: number | null;
  max_pain_strike: number | null;
  underlying_close: number | null;
}

/** Reads of the option chain (`fo_option_strike_bars`, `fo_expiry_metrics` and their functions). */
@Injectable()
export class OptionChainRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** The nearest expiry on or after `onOrAfter` (YYYY-MM-DD) with listed options of the underlying. */
  async nearestExpiry(underlying: string, onOrAfter: string): Promise<string | undefined> {
    const rows: { expiry: string }[] = await this.dataSource.query(
      `SELECT to_char(min(expiry), 'YYYY-MM-DD') AS expiry FROM instruments
        WHERE name = $1 AND instrument_type IN ('CE', 'PE') AND expiry >= $2::date`,
      [underlying, onOrAfter],
    );
    return rows[0]?.expiry ?? undefined;
  }

  /** Start of the latest minute at or before `at` with a candle of any option of the expiry. */
  async latestMinute(underlying: string, expiry: string, at: Date): Promise<Date | undefined> {
    const rows: { time: Date | null }[] = await this.dataSource.query(
      `SELECT max(${newestMinuteSql('i.instrument_token', { at: '$3', inclusive: true })}) AS time
         FROM instruments i
        WHERE i.name = $1 AND i.expiry = $2::date AND i.instrument_type IN ('CE', 'PE')`,
      [underlying, expiry, at.toISOString()],
    );
    return rows[0]?.time ?? undefined;
  }

  /**
   * Every strike of the chain at `time`: each leg's own candle of the minute and its OI level. The
   * function behind `fo_option_strike_bars`, called for one chain so that it is planned for one.
   */
  async strikes(underlying: string, expiry: string, time: Date): Promise<StrikeBarRow[]> {
    return this.dataSource.query(`SELECT * FROM fo_option_strike_bars_at($1, $2::date, $3) ORDER BY strike`, [
      underlying,
      expiry,
      time.toISOString(),
    ]);
  }

  /** Totals, put-call ratios and max pain of the chain at `time` (the function behind `fo_expiry_metrics`). */
  async metrics(underlying: string, expiry: string, time: Date): Promise<ExpiryMetricsRow | undefined> {
    const rows: ExpiryMetricsRow[] = await this.dataSource.query(
      `SELECT total_call_volume, total_put_volume, total_call_oi, total_put_oi, pcr_oi, pcr_volume,
              max_pain_strike, underlying_close
         FROM fo_expiry_metrics_at($1, $2::date, $3)`,
      [underlying, expiry, time.toISOString()],
    );
    return rows[0];
  }
}
