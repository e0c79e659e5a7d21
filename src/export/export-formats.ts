import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  Data,
  DataType,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  tableToIPC,
} from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { CandleTuple } from './export.repository';
import { EXPORT_COLUMNS, ExportFormat } from './dto/export.dto';

/** Candles of one instrument, in time order. */
export interface ExportBatch {
  token: number;
  rows: CandleTuple[];
}

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  // Registered with IANA in 2024.
  parquet: 'application/vnd.apache.parquet',
};

/** `2025-11-03 03:45:00+00` (PostgreSQL, time zone UTC) as `2025-11-03T03:45:00.000Z`, as the API writes it. */
export function isoTime(text: string): string {
  return text.length === 22 && text.endsWith('+00')
    ? `${text.slice(0, 10)}T${text.slice(11, 19)}.000Z`
    : new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString();
}

/** Epoch milliseconds of PostgreSQL's text of a timestamptz. */
const epochMs = (text: string): number => Date.parse(isoTime(text));

/**
 * CSV, one chunk per batch. Every value is a number, an ISO instant or empty, none needing quotes,
 * so the lines are joined directly (a CSV library would only add quoting rules to skip).
 */
export async function* csv(batches: AsyncIterable<ExportBatch>): AsyncGenerator<string> {
  yield `${EXPORT_COLUMNS.join(',')}\n`;
  for await (const { token, rows } of batches) {
    let chunk = '';
    for (const row of rows) {
      chunk += `${token},${isoTime(row[0]!)}`;
      for (let i = 1; i < row.length; i++) chunk += `,${row[i] ?? ''}`;
      chunk += '\n';
    }
    yield chunk;
  }
}

const PRICE = new Float64();
const SCHEMA = new Schema([
  new Field('instrument_token', new Int64(), false),
  new Field('time', new TimestampMillisecond('UTC'), false),
  new Field('open', PRICE, false),
  new Field('high', PRICE, false),
  new Field('low', PRICE, false),
  new Field('close', PRICE, false),
  new Field('volume', new Int64(), false),
  new Field('oi', new Int64(), true),
  new Field('iv', PRICE, true),
  new Field('delta', PRICE, true),
  new Field('gamma', PRICE, true),
  new Field('theta', PRICE, true),
  new Field('vega', PRICE, true),
]);

const TWO_32 = 2 ** 32;

/**
 * Rows per Arrow record batch handed to the Parquet writer: fewer, larger hand-overs than the
 * cursor's fetches (which stay small so that their rows die young), far below a row group.
 */
export const ARROW_BATCH_ROWS = 10_000;

/**
 * An INT64 column written through its two 32-bit halves (little-endian), from non-negative numbers
 * below 2^53: no BigInt per value.
 */
class LongColumn {
  values: BigInt64Array;
  private halves: Uint32Array;
  valid?: Uint8Array;

  constructor(capacity: number, nullable: boolean) {
    this.values = new BigInt64Array(capacity);
    this.halves = new Uint32Array(this.values.buffer);
    if (nullable) this.valid = new Uint8Array((capacity + 7) >> 3);
  }

  set(i: number, value: number | null): void {
    if (value === null) return;
    this.halves[2 * i] = value >>> 0;
    this.halves[2 * i + 1] = Math.floor(value / TWO_32);
    if (this.valid) this.valid[i >> 3] |= 1 << (i & 7);
  }
}

class DoubleColumn {
  values: Float64Array;
  valid?: Uint8Array;

  constructor(capacity: number, nullable: boolean) {
    this.values = new Float64Array(capacity);
    if (nullable) this.valid = new Uint8Array((capacity + 7) >> 3);
  }

  set(i: number, value: string | null): void {
    if (value === null) return;
    this.values[i] = Number(value);
    if (this.valid) this.valid[i >> 3] |= 1 << (i & 7);
  }
}

/** Arrow's Data of a column; a bit clear in `valid` (Arrow's validity bitmap) marks a null. */
function columnData(type: DataType, length: number, column: LongColumn | DoubleColumn): Data {
  const values = column.values.subarray(0, length);
  if (!column.valid) return makeData({ type, length, data: values, nullCount: 0 } as never) as Data;
  const valid = column.valid.subarray(0, (length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < length; i++) if ((valid[i >> 3] & (1 << (i & 7))) === 0) nullCount++;
  return makeData({ type, length, data: values, nullBitmap: valid, nullCount } as never) as Data;
}

/**
 * Rows of several instruments gathered into columns as they arrive (so that the rows themselves
 * die young), taken out as one Arrow record batch of at least `size` rows, columns in SCHEMA order.
 */
class BatchBuilder {
  length = 0;
  private columns: (LongColumn | DoubleColumn)[] = [];

  constructor(readonly size: number) {
    this.reset(size);
  }

  private reset(capacity: number): void {
    this.columns = SCHEMA.fields.map((field) =>
      field.type instanceof Float64
        ? new DoubleColumn(capacity, field.nullable)
        : new LongColumn(capacity, field.nullable),
    );
  }

  add(token: number, rows: CandleTuple[]): void {
    if (this.length + rows.length > this.columns[0].values.length) this.grow(this.length + rows.length);
    const [tokens, time, ...rest] = this.columns as [
      LongColumn,
      LongColumn,
      ...(LongColumn | DoubleColumn)[],
    ];
    for (const row of rows) {
      const i = this.length++;
      tokens.set(i, token);
      time.set(i, epochMs(row[0]!));
      for (let c = 0; c < rest.length; c++) {
        const column = rest[c];
        const value = row[c + 1];
        if (column instanceof LongColumn) column.set(i, value === null ? null : Number(value));
        else column.set(i, value);
      }
    }
  }

  /** Room for `needed` rows (an instrument's batch may go past `size`), keeping the rows so far. */
  private grow(needed: number): void {
    const old = this.columns;
    this.reset(Math.max(needed, 2 * old[0].values.length));
    old.forEach((column, c) => {
      const next = this.columns[c];
      next.values.set(column.values as never);
      if (column.valid && next.valid) next.valid.set(column.valid);
    });
  }

  take(): RecordBatch {
    const n = this.length;
    const children = SCHEMA.fields.map((field, c) => columnData(field.type as DataType, n, this.columns[c]));
    this.length = 0;
    this.reset(this.size);
    return new RecordBatch(SCHEMA, makeData({ type: new Struct(SCHEMA.fields), length: n, children }));
  }
}

/**
 * Parquet through parquet-wasm (the Rust parquet crate's ArrowWriter): record batches of
 * `batchRows` built with Apache Arrow, handed over as Arrow IPC, written in row groups of
 * `rowGroupRows` with zstd. The writer pulls a batch only when it has passed on the bytes before,
 * so memory holds one row group being encoded and one batch, whatever the file's size.
 */
export async function parquetStream(
  batches: AsyncIterator<ExportBatch>,
  options: { batchRows: number; rowGroupRows: number },
): Promise<Readable> {
  const builder = new BatchBuilder(options.batchRows);
  let ended = false;
  let emitted = false;
  const source = new ReadableStream<parquet.RecordBatch>({
    async pull(controller) {
      while (!ended && builder.length < builder.size) {
        const next = await batches.next();
        if (next.done) ended = true;
        else builder.add(next.value.token, next.value.rows);
      }
      // An empty export is still a file: one empty batch carries the schema.
      if (builder.length > 0 || !ended || !emitted) {
        const table = parquet.Table.fromIPCStream(tableToIPC(new Table([builder.take()]), 'stream'));
        for (const batch of table.recordBatches()) controller.enqueue(batch);
        table.free();
        emitted = true;
      }
      if (ended) controller.close();
    },
    async cancel() {
      await batches.return?.();
    },
  });
  const properties = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy('nifty-market-data export')
    .build();
  const bytes = await parquet.transformParquetStream(source, properties);
  return Readable.fromWeb(bytes as WebReadableStream<Uint8Array>);
}
