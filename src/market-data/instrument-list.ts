import { parse } from 'csv-parse';
import {
  INT4_MAX,
  isCalendarDate,
  isFiniteIn,
  isIntegerIn,
  isPrintableText,
  MAX_INSTRUMENT_TOKEN,
} from '../common/strict-values';
import { InstrumentInfo } from './market-data.types';

export { KITE_INSTRUMENT_COLUMNS as INSTRUMENT_LIST_COLUMNS } from '../contracts/ticker.contracts';

/**
 * Columns of Kite's list (KITE_INSTRUMENT_COLUMNS) the service reads; the others (exchange_token,
 * last_price) may be anything, and the order is the header's.
 */
const READ = [
  'instrument_token',
  'tradingsymbol',
  'name',
  'expiry',
  'strike',
  'tick_size',
  'lot_size',
  'instrument_type',
  'segment',
  'exchange',
] as const;

const MAX_TEXT = 128;

export class InstrumentListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstrumentListError';
  }
}

export interface ParsedInstrumentList {
  instruments: Map<number, InstrumentInfo>;
  /** Lines left out because a field was not what the column holds. */
  skipped: number;
  /** The first of them, for the log. */
  firstProblem?: string;
}

const number = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text));

/** One line, or the reason it is left out. */
function instrumentOf(row: Record<(typeof READ)[number], string>): InstrumentInfo | string {
  const token = number(row.instrument_token);
  if (!isIntegerIn(token, 1, MAX_INSTRUMENT_TOKEN))
    return `instrument_token ${JSON.stringify(row.instrument_token)}`;
  for (const column of ['tradingsymbol', 'instrument_type', 'segment', 'exchange'] as const)
    if (!isPrintableText(row[column], MAX_TEXT))
      return `token ${token}: ${column} ${JSON.stringify(row[column])}`;
  if (row.name !== '' && !isPrintableText(row.name, MAX_TEXT))
    return `token ${token}: name ${JSON.stringify(row.name)}`;
  if (row.expiry !== '' && !isCalendarDate(row.expiry))
    return `token ${token}: expiry ${JSON.stringify(row.expiry)}`;
  const strike = number(row.strike);
  if (!isFiniteIn(strike, 0, Number.MAX_VALUE)) return `token ${token}: strike ${JSON.stringify(row.strike)}`;
  const tickSize = number(row.tick_size);
  if (!isFiniteIn(tickSize, 0, Number.MAX_VALUE))
    return `token ${token}: tick_size ${JSON.stringify(row.tick_size)}`;
  const lotSize = number(row.lot_size);
  if (!isIntegerIn(lotSize, 0, INT4_MAX)) return `token ${token}: lot_size ${JSON.stringify(row.lot_size)}`;
  return {
    instrumentToken: token,
    tradingsymbol: row.tradingsymbol,
    name: row.name === '' ? null : row.name,
    segment: row.segment,
    exchange: row.exchange,
    instrumentType: row.instrument_type,
    strike,
    expiry: row.expiry === '' ? null : row.expiry,
    // Kite gives indices a tick (and a lot) of 0: none stated.
    lotSize: lotSize > 0 ? lotSize : null,
    tickSize: tickSize > 0 ? tickSize : null,
  };
}

/**
 * Reads an instrument list in Kite's CSV format. A header without one of the columns the service
 * reads, or a list without any readable line, is refused whole (it is not Kite's list); a line
 * whose field is not what its column holds is left out and counted, and the rest is kept.
 */
export async function parseInstrumentList(text: string): Promise<ParsedInstrumentList> {
  const parser = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false });
  const instruments = new Map<number, InstrumentInfo>();
  let header: Map<string, number> | undefined;
  let skipped = 0;
  let firstProblem: string | undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = new Map(record.map((name, index) => [name.trim(), index]));
        const missing = READ.filter((column) => !header!.has(column));
        if (missing.length > 0)
          throw new InstrumentListError(`not an instrument list: no column ${missing.join(', ')}`);
        continue;
      }
      const row = Object.fromEntries(
        READ.map((column) => [column, record[header!.get(column)!] ?? '']),
      ) as Record<(typeof READ)[number], string>;
      const instrument = instrumentOf(row);
      if (typeof instrument === 'string') {
        skipped++;
        firstProblem ??= instrument;
        continue;
      }
      instruments.set(instrument.instrumentToken, instrument);
    }
  } catch (error) {
    if (error instanceof InstrumentListError) throw error;
    throw new InstrumentListError(`not a readable CSV: ${(error as Error).message}`);
  }
  if (instruments.size === 0)
    throw new InstrumentListError(
      `no instrument in the list${skipped > 0 ? ` (${skipped} lines unreadable, first: ${firstProblem})` : ''}`,
    );
  return { instruments, skipped, firstProblem };
}
