import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** SQL of the continuous aggregates of candles_1m (TimescaleDB only). */
@Injectable()
export class CandleAggregatesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Materialises `aggregate` over [from, to), both on its bucket boundaries. TimescaleDB refuses
   * this inside a transaction block, so it runs on a connection of its own, outside any, bounded by
   * `timeoutMs`; `signal` cancels it in the server (a refresh is atomic: nothing is half-written).
   */
  async refresh(
    aggregate: string,
    from: Date,
    to: Date,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let cancel: (() => void) | undefined;
    try {
      const [{ pid }]: { pid: number }[] = await runner.query(
        `SELECT pg_backend_pid() AS pid, set_config('statement_timeout', $1, false)`,
        [String(timeoutMs)],
      );
      cancel = () => void this.dataSource.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      if (signal?.aborted) return;
      signal?.addEventListener('abort', cancel, { once: true });
      await runner.query(
        `CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)`,
        [aggregate, from.toISOString(), to.toISOString()],
      );
    } finally {
      if (cancel) signal?.removeEventListener('abort', cancel);
      await runner.query('RESET statement_timeout').catch(() => undefined);
      await runner.release();
    }
  }

  /** The oldest minute stored: where a catch-up refresh starts. */
  async oldestMinute(): Promise<Date | null> {
    const [row]: { oldest: Date | null }[] = await this.dataSource.query(
      `SELECT min(time) AS oldest FROM candles_1m`,
    );
    return row.oldest === null ? null : new Date(row.oldest);
  }
}
