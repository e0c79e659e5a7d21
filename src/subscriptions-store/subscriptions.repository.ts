import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export type SubscriptionSource = 'event' | 'reconcile' | 'manual' | 'stream';
export type SubscriptionStatus = 'active' | 'inactive';

export interface ActivateSubscription {
  instrumentToken: number;
  requestedMode?: string | null;
  accountId?: string | null;
}

export interface SubscriptionViewRow {
  instrument_token: string;
  tradingsymbol: string | null;
  segment: string | null;
  exchange: string | null;
  instrument_type: string | null;
  status: SubscriptionStatus;
  requested_mode: string | null;
  account_id: string | null;
  source: SubscriptionSource;
  first_seen_at: Date;
  last_event_at: Date;
  removed_at: Date | null;
  last_candle_time: Date | null;
  last_job_id: string | null;
  last_job_state: string | null;
  last_job_trigger: string | null;
  last_job_requested_at: Date | null;
  last_job_finished_at: Date | null;
}

// Re-activation resets `removed_at`; a repeated activation (another replica, a duplicate event) only
// refreshes what it tells. `source` records what first made the subscription active.
const ACTIVATE = `
  INSERT INTO subscriptions (instrument_token, status, requested_mode, account_id, source, first_seen_at, last_event_at, updated_at)
  SELECT t.token, 'active', t.mode, t.account, $4, $5, $5, now()
    FROM unnest($1::bigint[], $2::text[], $3::text[]) AS t(token, mode, account)
  ON CONFLICT (instrument_token) DO UPDATE SET
    status = 'active',
    requested_mode = COALESCE(EXCLUDED.requested_mode, subscriptions.requested_mode),
    account_id = COALESCE(EXCLUDED.account_id, subscriptions.account_id),
    source = CASE WHEN subscriptions.status = 'inactive' THEN EXCLUDED.source ELSE subscriptions.source END,
    last_event_at = GREATEST(subscriptions.last_event_at, EXCLUDED.last_event_at),
    removed_at = NULL,
    updated_at = now()`;

/**
 * The only writer of `subscriptions`; others read it (the backfill cycle selects the active ones).
 * Every write is an idempotent upsert or update.
 */
@Injectable()
export class SubscriptionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Marks the tokens active (inserting unknown ones); their `instruments` rows must exist. */
  async activate(rows: readonly ActivateSubscription[], source: SubscriptionSource, at: Date): Promise<void> {
    if (rows.length === 0) return;
    const byToken = new Map<number, ActivateSubscription>();
    for (const row of rows) byToken.set(row.instrumentToken, row);
    const unique = [...byToken.values()];
    await this.dataSource.query(ACTIVATE, [
      unique.map((row) => row.instrumentToken),
      unique.map((row) => row.requestedMode ?? null),
      unique.map((row) => row.accountId ?? null),
      source,
      at,
    ]);
  }

  /** Marks the tokens inactive; returns the tokens that have a subscription row at all. */
  async deactivate(tokens: readonly number[], at: Date): Promise<number[]> {
    if (tokens.length === 0) return [];
    // TypeORM answers an UPDATE ... RETURNING on PostgreSQL with [rows, affected].
    const [rows]: [Array<{ instrument_token: string }>, number] = await this.dataSource.query(
      `UPDATE subscriptions
          SET status = 'inactive',
              removed_at = CASE WHEN status = 'active' THEN $2::timestamptz ELSE removed_at END,
              last_event_at = GREATEST(last_event_at, $2::timestamptz),
              updated_at = now()
        WHERE instrument_token = ANY($1::bigint[])
        RETURNING instrument_token`,
      [[...new Set(tokens)], at],
    );
    return rows.map((row) => Number(row.instrument_token));
  }

  /**
   * The instrument's recorded removal (`at`: when, if known), or undefined when its subscription is
   * active or was never recorded. The primary key's index, one row at most.
   */
  async removal(instrumentToken: number): Promise<{ at: Date | null } | undefined> {
    const rows: Array<{ removed_at: Date | null }> = await this.dataSource.query(
      `SELECT removed_at FROM subscriptions WHERE instrument_token = $1 AND status = 'inactive'`,
      [instrumentToken],
    );
    if (rows.length === 0) return undefined;
    return { at: rows[0].removed_at === null ? null : new Date(rows[0].removed_at) };
  }

  async activeTokens(): Promise<number[]> {
    const rows: Array<{ instrument_token: string }> = await this.dataSource.query(
      `SELECT instrument_token FROM subscriptions WHERE status = 'active' ORDER BY instrument_token`,
    );
    return rows.map((row) => Number(row.instrument_token));
  }

  async countActive(): Promise<number> {
    const rows: Array<{ count: string }> = await this.dataSource.query(
      `SELECT count(*) AS count FROM subscriptions WHERE status = 'active'`,
    );
    return Number(rows[0].count);
  }
}
