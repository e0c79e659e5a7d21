import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { badField } from '../common/validation';
import { exportConfig, ExportConfig } from './export.config';
import { CLOCK, Clock } from '../contracts/market-time';
import { DatabaseService } from '../database/database.service';
import { CandleWindow, candleWindow, INTERVALS } from '../market-data/candle-intervals';
import { candlesStatement } from '../market-data/candles-query.repository';
import { ExportCandlesQueryDto } from './dto/export.dto';
import { ARROW_BATCH_ROWS, CONTENT_TYPES, csv, ExportBatch, parquetStream } from './export-formats';
import { ExportRepository, ExportSession } from './export.repository';

/** An export ready to be sent: its first rows already read, so that a failure to read is still an error answer. */
export interface ExportFile {
  fileName: string;
  contentType: string;
  body: Readable;
  /** Ends the reads (closing the cursor and giving the connection back) if the body did not. */
  close(): Promise<void>;
}

/** `2025-11-03T03:45:00.000Z` as `20251103T0345Z`, for file names. */
const compact = (instant: Date): string =>
  instant
    .toISOString()
    .replace(/:\d{2}\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');

/** Every instrument's candles of the window, one instrument after the other, each in time order. */
async function* candleBatches(
  session: ExportSession,
  tokens: number[],
  window: CandleWindow,
  timescaledb: boolean,
  fetchRows: number,
): AsyncGenerator<ExportBatch> {
  let failure: unknown;
  try {
    for (const token of tokens)
      for await (const rows of session.rows(candlesStatement(token, window, timescaledb), fetchRows))
        yield { token, rows };
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await session.release(failure);
  }
}

/** `first` (already read) and then the rest of `rest`, which is ended however this one ends. */
async function* resumed<T>(first: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  try {
    if (first.done) return;
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

/**
 * Exports of stored candles, at any interval of the candles API and through its own statements, as
 * CSV or Parquet, streamed from a cursor: memory holds a batch (and a Parquet row group), never the
 * file.
 */
@Injectable()
export class ExportService {
  private readonly logger = new Logger(ExportService.name);

  constructor(
    private readonly repository: ExportRepository,
    private readonly database: DatabaseService,
    @Inject(exportConfig.KEY) private readonly config: ExportConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async open(query: ExportCandlesQueryDto): Promise<ExportFile> {
    const maxRangeDays = Math.max(INTERVALS[query.interval].maxRangeDays, this.config.EXPORT_MAX_RANGE_DAYS);
    const window = candleWindow(query, this.clock.now(), maxRangeDays);
    const { tokens, label } = await this.selection(query);
    const session = await this.repository.session(this.config.EXPORT_TIMEOUT_MS);
    const batches = candleBatches(
      session,
      tokens,
      window,
      this.database.storageMode.timescaledb,
      this.config.EXPORT_FETCH_ROWS,
    );
    // Read before the first byte is sent: a failing statement is still a 503 or a 500, not a cut file.
    const first = await batches.next();
    const rows = resumed(first, batches);
    const body =
      query.format === 'parquet'
        ? await parquetStream(rows, {
            batchRows: ARROW_BATCH_ROWS,
            rowGroupRows: this.config.EXPORT_PARQUET_ROW_GROUP_ROWS,
          })
        : Readable.from(csv(rows));
    return {
      fileName: `candles_${label}_${window.interval}_${compact(window.start)}_${compact(window.end)}.${query.format}`,
      contentType: CONTENT_TYPES[query.format],
      body,
      close: async () => {
        await rows.return(undefined);
      },
    };
  }

  /**
   * Streams the file to the client. Once the first byte is out the status is sent: a failure after it
   * aborts the response (the client sees a cut chunked body, never a complete-looking file). A client
   * that leaves ends the reads at once.
   */
  async send(file: ExportFile, response: ServerResponse): Promise<void> {
    response.setHeader('Content-Type', file.contentType);
    response.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
    response.setHeader('Cache-Control', 'no-store');
    try {
      await pipeline(file.body, response);
    } catch (error) {
      const left = (error as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
      if (!left) this.logger.error(`export ${file.fileName} failed mid-stream: ${(error as Error).message}`);
      response.destroy();
    } finally {
      await file.close();
    }
  }

  /**
   * The instruments named: the tokens, those of the underlying and/or expiry, or, given together,
   * the tokens that are of that underlying and/or expiry.
   */
  private async selection(query: ExportCandlesQueryDto): Promise<{ tokens: number[]; label: string }> {
    const max = this.config.EXPORT_MAX_INSTRUMENTS;
    const byContract = query.underlying !== undefined || query.expiry !== undefined;
    let listed: number[] | undefined;
    if (query.tokens !== undefined) {
      listed = [...new Set(query.tokens.split(',').map(Number))].sort((a, b) => a - b);
      if (listed.some((token) => !Number.isSafeInteger(token)))
        throw badField('tokens', `every token must be at most ${Number.MAX_SAFE_INTEGER}`);
      if (listed.length > max) throw badField('tokens', `at most ${max} instruments per export`);
      if (!byContract)
        return {
          tokens: listed,
          label: listed.length === 1 ? String(listed[0]) : `${listed.length}-instruments`,
        };
    }
    if (!byContract) throw badField('tokens', 'name the instruments: tokens, or underlying and/or expiry');
    const tokens = await this.repository.tokensOf({ ...query, tokens: listed }, max + 1);
    const label = [query.underlying, query.expiry].filter(Boolean).join('_');
    if (tokens.length > max)
      throw badField('underlying', `more than ${max} instruments; narrow the selection with expiry`);
    if (tokens.length === 0)
      throw new NotFoundException(`no instrument of ${label.replace('_', ' ')} selected`);
    return { tokens, label };
  }
}
