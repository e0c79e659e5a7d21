import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '../database/data-source';
import { newestMinuteSql } from '../market-data/candles.queries';
import { SubscriptionStatus, SubscriptionViewRow } from './subscriptions.repository';

/** The subscriptions API's reads, on the read pool (a replica where DATABASE_READ_URL names one). */
@Injectable()
export class SubscriptionsQueryRepository {
  constructor(@InjectDataSource(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async count(status?: SubscriptionStatus): Promise<number> {
    const rows: Array<{ count: string }> = await this.dataSource.query(
      `SELECT count(*) AS count FROM subscriptions WHERE $1::text IS NULL OR status = $1::text`,
      [status ?? null],
    );
    return Number(rows[0].count);
  }

  /**
   * The service's view of each subscribed instrument: the subscription, the instrument, its newest
   * stored candle and its latest backfill job. Both lookups walk an index (candles' primary key,
   * backfill_jobs_token_idx) and stop at the first row.
   */
  async list(
    status: SubscriptionStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<SubscriptionViewRow[]> {
    return this.dataSource.query(
      `SELECT s.instrument_token, i.tradingsymbol, i.segment, i.exchange, i.instrument_type,
              s.status, s.requested_mode, s.account_id, s.source, s.first_seen_at, s.last_event_at, s.removed_at,
              ${newestMinuteSql('s.instrument_token')} AS last_candle_time,
              j.id AS last_job_id, j.state AS last_job_state, j.trigger AS last_job_trigger,
              j.requested_at AS last_job_requested_at, j.finished_at AS last_job_finished_at
         FROM subscriptions s
         JOIN instruments i ON i.instrument_token = s.instrument_token
         LEFT JOIN LATERAL (
           SELECT id, state, trigger, requested_at, finished_at FROM backfill_jobs
            WHERE instrument_token = s.instrument_token ORDER BY requested_at DESC LIMIT 1
         ) j ON true
        WHERE $1::text IS NULL OR s.status = $1::text
        ORDER BY s.instrument_token
        LIMIT $2 OFFSET $3`,
      [status ?? null, limit, offset],
    );
  }
}
