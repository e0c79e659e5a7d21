import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DESCRIPTION_SOURCES, DescribedField, DescribedInstrument } from './market-data.types';

/** Each described field: its column and the column's type. */
const COLUMNS: readonly { field: DescribedField; column: string; type: string }[] = [
  { field: 'tradingsymbol', column: 'tradingsymbol', type: 'text' },
  { field: 'name', column: 'name', type: 'text' },
  { field: 'segment', column: 'segment', type: 'text' },
  { field: 'exchange', column: 'exchange', type: 'text' },
  { field: 'instrumentType', column: 'instrument_type', type: 'text' },
  { field: 'strike', column: 'strike', type: 'float8' },
  { field: 'expiry', column: 'expiry', type: 'date' },
  { field: 'lotSize', column: 'lot_size', type: 'int' },
  { field: 'tickSize', column: 'tick_size', type: 'float8' },
];

const SOURCE_RANKS = `ARRAY[${DESCRIPTION_SOURCES.map((source) => `'${source}'`).join(', ')}]::text[]`;
const rank = (described: string, column: string): string =>
  `COALESCE(array_position(${SOURCE_RANKS}, ${described} ->> '${column}'), 0)`;
// A stated value replaces a stored one when its source is at least as strong as the stored one's;
// a row written before sources were recorded (`described_by` empty) has the weakest of all.
const takes = (column: string): string =>
  `(EXCLUDED.${column} IS NOT NULL AND (instruments.${column} IS NULL OR
     ${rank('EXCLUDED.described_by', column)} >= ${rank('instruments.described_by', column)}))`;
const merged = (column: string): string =>
  `CASE WHEN ${takes(column)} THEN EXCLUDED.${column} ELSE instruments.${column} END`;
const mergedSources = `jsonb_strip_nulls(jsonb_build_object(${COLUMNS.map(
  ({ column }) =>
    `'${column}', CASE WHEN ${takes(column)} THEN EXCLUDED.described_by -> '${column}' ELSE instruments.described_by -> '${column}' END`,
).join(',\n    ')}))`;

const UPSERT = `
  INSERT INTO instruments (instrument_token, ${COLUMNS.map((c) => c.column).join(', ')}, described_by)
  SELECT * FROM unnest($1::bigint[], ${COLUMNS.map((c, i) => `$${i + 2}::${c.type}[]`).join(', ')},
                       $${COLUMNS.length + 2}::jsonb[])
  ON CONFLICT (instrument_token) DO UPDATE SET
    ${COLUMNS.map(({ column }) => `${column} = ${merged(column)}`).join(',\n    ')},
    described_by = ${mergedSources},
    updated_at = now()
  WHERE (${COLUMNS.map(({ column }) => `instruments.${column}`).join(', ')}, instruments.described_by)
        IS DISTINCT FROM
        (${COLUMNS.map(({ column }) => merged(column)).join(', ')}, ${mergedSources})`;

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

/**
 * The only writer of `instruments`. Each field is written with its source (`described_by`), and a
 * stored field gives way only to a source at least as strong (DESCRIPTION_SOURCES); what a source
 * omits is kept.
 */
@Injectable()
export class InstrumentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async upsert(instruments: readonly DescribedInstrument[], manager?: EntityManager): Promise<void> {
    if (instruments.length === 0) return;
    // One row per token: unnest() with a repeated token would make ON CONFLICT touch a row twice.
    // The later of two rows for a token wins where both state a field (callers merge beforehand).
    const byToken = new Map<number, DescribedInstrument>();
    for (const item of instruments) {
      const earlier = byToken.get(item.instrumentToken);
      byToken.set(
        item.instrumentToken,
        earlier ? { ...earlier, ...item, sources: { ...earlier.sources, ...item.sources } } : item,
      );
    }
    const rows = [...byToken.values()];
    const sources = rows.map((row) => {
      const described: Record<string, string> = {};
      for (const { field, column } of COLUMNS) {
        const source = row.sources[field];
        if (source && row[field] !== null && row[field] !== undefined) described[column] = source;
      }
      return JSON.stringify(described);
    });
    await (manager ?? this.dataSource.manager).query(UPSERT, [
      rows.map((row) => row.instrumentToken),
      ...COLUMNS.map(({ field }) => rows.map((row) => row[field] ?? null)),
      sources,
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

  /** Of `tokens`, the ones `instruments` holds. */
  async knownTokens(tokens: readonly number[]): Promise<number[]> {
    if (tokens.length === 0) return [];
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT instrument_token FROM instruments WHERE instrument_token = ANY($1::bigint[])`,
      [tokens],
    );
    return rows.map((row) => Number(row.instrument_token));
  }

  /**
   * Instruments that have not expired before `today` (an IST date; those without an expiry, the
   * indices, stay): of `tokens` when given (a token `instruments` does not hold stays too), else
   * every instrument held.
   */
  async unexpired(tokens: readonly number[] | undefined, today: string): Promise<number[]> {
    if (tokens === undefined) {
      const rows: { instrument_token: string }[] = await this.dataSource.query(
        `SELECT instrument_token FROM instruments WHERE expiry IS NULL OR expiry >= $1::date`,
        [today],
      );
      return rows.map((row) => Number(row.instrument_token));
    }
    if (tokens.length === 0) return [];
    const expired: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT instrument_token FROM instruments
        WHERE instrument_token = ANY($1::bigint[]) AND expiry < $2::date`,
      [tokens, today],
    );
    const gone = new Set(expired.map((row) => Number(row.instrument_token)));
    return tokens.filter((token) => !gone.has(token));
  }
}
