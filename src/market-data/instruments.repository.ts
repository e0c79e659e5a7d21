import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { withDerivedInstrumentFields } from './kite-tradingsymbol';
import { InstrumentInfo } from './market-data.types';

const UPSERT = `
  INSERT INTO instruments (instrument_token, tradingsymbol, name, segment, exchange, instrument_type, strike, expiry, lot_size, tick_size)
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                       $8::date[], $9::int[], $10::float8[])
  ON CONFLICT (instrument_token) DO UPDATE SET
    tradingsymbol = COALESCE(EXCLUDED.tradingsymbol, instruments.tradingsymbol),
    name = COALESCE(EXCLUDED.name, instruments.name),
    segment = COALESCE(EXCLUDED.segment, instruments.segment),
    exchange = COALESCE(EXCLUDED.exchange, instruments.exchange),
    instrument_type = COALESCE(EXCLUDED.instrument_type, instruments.instrument_type),
    strike = COALESCE(EXCLUDED.strike, instruments.strike),
    expiry = COALESCE(EXCLUDED.expiry, instruments.expiry),
    lot_size = COALESCE(EXCLUDED.lot_size, instruments.lot_size),
    tick_size = COALESCE(EXCLUDED.tick_size, instruments.tick_size),
    updated_at = now()
  WHERE (instruments.tradingsymbol, instruments.name, instruments.segment, instruments.exchange,
         instruments.instrument_type, instruments.strike, instruments.expiry, instruments.lot_size, instruments.tick_size)
        IS DISTINCT FROM
        (COALESCE(EXCLUDED.tradingsymbol, instruments.tradingsymbol), COALESCE(EXCLUDED.name, instruments.name),
         COALESCE(EXCLUDED.segment, instruments.segment), COALESCE(EXCLUDED.exchange, instruments.exchange),
         COALESCE(EXCLUDED.instrument_type, instruments.instrument_type), COALESCE(EXCLUDED.strike, instruments.strike),
         COALESCE(EXCLUDED.expiry, instruments.expiry), COALESCE(EXCLUDED.lot_size, instruments.lot_size),
         COALESCE(EXCLUDED.tick_size, instruments.tick_size))`;

export interface InstrumentRow {
  instrument_token: string;
  tradingsymbol: string | null;
  name: string | null;
  segment: string | null;
  exchange: string | null;
  instrument_type: string | null;
  strike: number | null;
  expiry: string | null;
  lot_size: number | null;
  tick_size: number | null;
}

/** The only writer of `instruments`. What a source tells is merged in; what it omits is kept. */
@Injectable()
export class InstrumentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async upsert(instruments: readonly InstrumentInfo[], manager?: EntityManager): Promise<void> {
    if (instruments.length === 0) return;
    // One row per token: unnest() with a repeated token would make ON CONFLICT touch a row twice.
    const byToken = new Map<number, InstrumentInfo>();
    for (const item of instruments)
      byToken.set(item.instrumentToken, { ...byToken.get(item.instrumentToken), ...item });
    // Derived after the merge, so a field another item for the token states is never guessed over.
    // Derived values go in as EXCLUDED like stated ones; a later tick's fields replace them.
    const rows = [...byToken.values()].map(withDerivedInstrumentFields);
    const column = <K extends keyof InstrumentInfo>(key: K): unknown[] => rows.map((row) => row[key] ?? null);
    await (manager ?? this.dataSource.manager).query(UPSERT, [
      column('instrumentToken'),
      column('tradingsymbol'),
      column('name'),
      column('segment'),
      column('exchange'),
      column('instrumentType'),
      column('strike'),
      column('expiry'),
      column('lotSize'),
      column('tickSize'),
    ]);
  }

  async findByToken(instrumentToken: number): Promise<InstrumentRow | undefined> {
    const rows: InstrumentRow[] = await this.dataSource.query(
      `SELECT instrument_token, tradingsymbol, name, segment, exchange, instrument_type, strike,
              to_char(expiry, 'YYYY-MM-DD') AS expiry, lot_size, tick_size
         FROM instruments WHERE instrument_token = $1`,
      [instrumentToken],
    );
    return rows[0];
  }
}
