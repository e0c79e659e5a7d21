import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, PoolClient } from 'pg';
import Cursor from 'pg-cursor';
import { DataSource } from 'typeorm';
import { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { READ_DATA_SOURCE } from '../database/data-source';
import { CandlesStatement } from '../market-data/candles-query.repository';

/**
 * A candle row as PostgreSQL writes it in text, in CANDLE_COLUMNS order (time, open, high, low,
 * close, volume, oi, iv, delta, gamma, theta, vega), null where unknown. Left as text: an export
 * turns each value into its file's form once, and millions of rows parsed into numbers and dates
 * first would only be garbage for the collector (the session's time zone is UTC, so `time` reads
 * `2025-11-03 03:45:00+00`; floats are printed shortest round-trip, as JavaScript prints them).
 */
export type CandleTuple = (string | null)[];

const AS_TEXT = { getTypeParser: () => (value: string) => value };

/** How long the client waits past the server's own statement timeout before it drops the connection. */
const CLIENT_MARGIN_MS = 5000;

/** pg's per-client settings; `query_timeout` is read there for every query without its own. */
interface ClientParameters {
  connectionParameters: { query_timeout?: number };
  connection: { stream: { destroy(): void } };
}

/**
 * One export's reads: a connection of the read pool, in one read-only REPEATABLE READ transaction
 * (every instrument of the file from the same snapshot), with one deadline for the whole export in
 * place of the pool's per-query ones. Candles come from a cursor, `fetchRows` at a time.
 *
 * pg arms the pool's `query_timeout` (DB_QUERY_TIMEOUT_MS) for every query and clears it only through
 * a callback that a cursor never calls: an export of minutes would be cut after 32 s, and each
 * cursor's timer keeps it (and the rows it fills) reachable from the old generation, so that every
 * fetched row was promoted there and the heap grew by a hundred megabytes of garbage between
 * collections. While the session holds the connection that setting is off; the session's own
 * timer drops the connection at the deadline instead, and the setting is put back before release.
 */
export class ExportSession {
  private released = false;
  private readonly poolTimeout: number | undefined;
  private readonly deadline: NodeJS.Timeout;
  /**
   * A checked-out client reports a lost connection as an 'error' event, which unheard would end the
   * process; the pending cursor read fails with it too, and that failure ends the export.
   */
  private readonly onError = (): void => undefined;

  constructor(
    private readonly client: PoolClient,
    timeoutMs: number,
  ) {
    client.on('error', this.onError);
    const parameters = (client as unknown as ClientParameters).connectionParameters;
    this.poolTimeout = parameters.query_timeout;
    parameters.query_timeout = undefined;
    this.deadline = setTimeout(
      () => (client as unknown as ClientParameters).connection.stream.destroy(),
      timeoutMs + CLIENT_MARGIN_MS,
    );
  }

  /** The statement's rows, in batches of at most `fetchRows`; the cursor is closed however the loop ends. */
  async *rows(statement: CandlesStatement, fetchRows: number): AsyncGenerator<CandleTuple[]> {
    const cursor = this.client.query(
      new Cursor<CandleTuple>(statement.text, statement.values, {
        rowMode: 'array',
        types: AS_TEXT as never,
      }),
    );
    let failed = false;
    try {
      for (;;) {
        const rows = await cursor.read(fetchRows);
        if (rows.length === 0) return;
        yield rows;
        if (rows.length < fetchRows) return;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A cursor whose connection failed would wait forever for the server's answer to its close;
      // the session's release destroys that connection instead.
      if (!failed && (cursor as unknown as { state: string }).state !== 'error') await cursor.close();
    }
  }

  /**
   * Ends the transaction and gives the connection back; after a failure (or a cursor left in an
   * unknown state) the connection is destroyed instead, so the pool never gets one mid-statement.
   */
  async release(failure?: unknown): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearTimeout(this.deadline);
    this.client.off('error', this.onError);
    (this.client as unknown as ClientParameters).connectionParameters.query_timeout = this.poolTimeout;
    if (failure === undefined) {
      try {
        await this.client.query('COMMIT');
      } catch (error) {
        this.client.release(error as Error);
        return;
      }
      this.client.release();
    } else {
      this.client.release(failure instanceof Error ? failure : new Error(String(failure)));
    }
  }
}

/** The export's SQL: which instruments a selection names, and sessions reading their candles. */
@Injectable()
export class ExportRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** Tokens of the instruments of an underlying and/or expiry (among `tokens`, if given), ascending; at most `limit`. */
  async tokensOf(
    selection: { underlying?: string; expiry?: string; tokens?: number[] },
    limit: number,
  ): Promise<number[]> {
    const rows: { instrument_token: string }[] = await this.dataSource.query(
      `SELECT instrument_token FROM instruments
        WHERE ($1::text IS NULL OR name = $1) AND ($2::date IS NULL OR expiry = $2::date)
          AND ($3::bigint[] IS NULL OR instrument_token = ANY($3::bigint[]))
        ORDER BY instrument_token LIMIT $4`,
      [selection.underlying ?? null, selection.expiry ?? null, selection.tokens ?? null, limit],
    );
    return rows.map((row) => Number(row.instrument_token));
  }

  /** A session on a connection of the read pool; a database that is down fails here, before any answer. */
  async session(timeoutMs: number): Promise<ExportSession> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // Server side, the whole export is one deadline: a slow client stalls between fetches.
      await client.query(
        `SELECT set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $1, true)`,
        [String(timeoutMs)],
      );
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return new ExportSession(client, timeoutMs);
  }
}
