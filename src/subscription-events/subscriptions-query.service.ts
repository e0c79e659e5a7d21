import { Injectable } from '@nestjs/common';
import { SubscriptionListDto, SubscriptionViewDto } from './dto/subscription-view.dto';
import { SubscriptionsQueryRepository } from './subscriptions-query.repository';
import { SubscriptionStatus, SubscriptionViewRow } from '../subscriptions-store/subscriptions.repository';

@Injectable()
export class SubscriptionsQueryService {
  constructor(private readonly repository: SubscriptionsQueryRepository) {}

  async list(
    status: SubscriptionStatus | undefined,
    limit: number,
    offset: number,
  ): Promise<SubscriptionListDto> {
    const [total, rows] = await Promise.all([
      this.repository.count(status),
      this.repository.list(status, limit, offset),
    ]);
    return { total, limit, offset, subscriptions: rows.map(toView) };
  }
}

const iso = (value: Date | null): string | null => (value ? new Date(value).toISOString() : null);

function toView(row: SubscriptionViewRow): SubscriptionViewDto {
  return {
    instrument_token: Number(row.instrument_token),
    tradingsymbol: row.tradingsymbol,
    segment: row.segment,
    status: row.status,
    requested_mode: row.requested_mode,
    account_id: row.account_id,
    source: row.source,
    first_seen_at: iso(row.first_seen_at)!,
    last_event_at: iso(row.last_event_at)!,
    removed_at: iso(row.removed_at),
    last_candle_time: iso(row.last_candle_time),
    backfill: row.last_job_id
      ? {
          last_job_id: row.last_job_id,
          state: row.last_job_state!,
          trigger: row.last_job_trigger!,
          requested_at: iso(row.last_job_requested_at)!,
          finished_at: iso(row.last_job_finished_at),
        }
      : null,
  };
}
