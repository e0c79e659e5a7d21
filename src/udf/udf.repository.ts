import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '../database/data-source';
import { newestMinuteSql } from '../market-data/candles.queries';
import { UdfSymbolType } from './dto/udf.dto';

export interface UdfInstrumentRow {
  instrument_token: string;
  tradingsymbol: string | null;
  name: string | null;
  segment: string | null;
  /** NFO for derivatives, NSE for indices (and anything else). */
  exchange: string;
  type: UdfSymbolType;
  strike: number | null;
  expiry: string | null;
  instrument_type: string | null;
  tick_size: number | null;
}

// Kite's instrument types and segments in TradingView's terms, in one place for lookup and search.
const UDF_TYPE = `CASE
    WHEN instrument_type IN ('CE', 'PE') OR segment = 'NFO-OPT' THEN 'option'
    WHEN instrument_type = 'FUT' OR segment = 'NFO-FUT' THEN 'futures'
    WHEN segment = 'INDICES' OR instrument_type = 'INDEX' THEN 'index'
    ELSE 'stock' END`;
const UDF_EXCHANGE = `COALESCE(exchange, CASE WHEN segment LIKE 'NFO%' THEN 'NFO' ELSE 'NSE' END)`;
const COLUMNS = `instrument_token, tradingsymbol, name, segment, ${UDF_EXCHANGE} AS exchange, ${UDF_TYPE} AS type,
  strike, to_char(expiry, 'YYYY-MM-DD') AS expiry, instrument_type, tick_size`;

/** LIKE pattern text for a literal: `%`, `_` and the escape character itself lose their meaning. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Reads of `instruments` and `candles_1m` that only the UDF datafeed needs. */
@Injectable()
export class UdfRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async findByToken(instrumentToken: number): Promise<UdfInstrumentRow | undefined> {
    const rows: UdfInstrumentRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM instruments WHERE instrument_token = $1`,
      [instrumentToken],
    );
    return rows[0];
  }

  /** By tradingsymbol, case-insensitively; `exchange` breaks a tie between exchanges. */
  async findBySymbol(tradingsymbol: string, exchange?: string): Promise<UdfInstrumentRow | undefined> {
    const rows: UdfInstrumentRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM instruments
        WHERE upper(tradingsymbol) = upper($1) AND ($2::text IS NULL OR ${UDF_EXCHANGE} = upper($2))
        ORDER BY instrument_token LIMIT 1`,
      [tradingsymbol, exchange ?? null],
    );
    return rows[0];
  }

  /**
   * Instruments whose tradingsymbol contains `query` (case-insensitive), or whose token it is:
   * symbols that start with it first, then in byte order (the same under every database collation).
   */
  async search(
    query: string,
    limit: number,
    filter: { type?: UdfSymbolType; exchange?: string } = {},
  ): Promise<UdfInstrumentRow[]> {
    const pattern = likeLiteral(query.toUpperCase());
    const token = /^\d{1,18}$/.test(query) ? query : null;
    return this.dataSource.query(
      `SELECT * FROM (SELECT ${COLUMNS} FROM instruments) i
        WHERE (upper(i.tradingsymbol) LIKE '%' || $1 || '%' OR i.instrument_token::text = $2)
          AND ($3::text IS NULL OR i.type = $3)
          AND ($4::text IS NULL OR i.exchange = $4)
        ORDER BY (upper(i.tradingsymbol) LIKE $1 || '%') DESC, i.tradingsymbol COLLATE "C" NULLS LAST,
                 i.instrument_token
        LIMIT $5`,
      [pattern, token, filter.type ?? null, filter.exchange ?? null, limit],
    );
  }

  /** Start of the newest stored minute before `before`: where a UDF client finds data next. */
  async newestMinuteBefore(instrumentToken: number, before: Date): Promise<Date | undefined> {
    const rows: { time: Date | null }[] = await this.dataSource.query(
      `SELECT ${newestMinuteSql('$1', { at: '$2' })} AS time`,
      [instrumentToken, before],
    );
    return rows[0]?.time ?? undefined;
  }
}
