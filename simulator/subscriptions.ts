// The ticker's subscription table: soft deletes, upsert on token, insertion order for paging.

import type { SubscriptionStatus, TickerSubscription } from '../src/contracts/ticker.contracts';
import type { SimInstrument } from './instruments';

export const REQUESTED_MODES = ['LTP', 'QUOTE', 'FULL'] as const;
export type RequestedMode = (typeof REQUESTED_MODES)[number];
export const DEFAULT_REQUESTED_MODE: RequestedMode = 'FULL';

export class SubscriptionStore {
  // A Map keeps first-insertion order, which is the stable order paging needs (like a serial id).
  private readonly records = new Map<number, TickerSubscription>();

  /** Creates or reactivates; `created_at` survives a reactivation, like an upsert on the token. */
  upsert(
    instrument: SimInstrument,
    mode: RequestedMode,
    accountId: string | null,
    now: Date,
  ): TickerSubscription {
    const at = now.toISOString();
    const existing = this.records.get(instrument.instrument_token);
    const record: TickerSubscription = {
      instrument_token: instrument.instrument_token,
      tradingsymbol: instrument.tradingsymbol,
      segment: instrument.segment,
      status: 'active',
      requested_mode: mode,
      account_id: accountId,
      created_at: existing?.created_at ?? at,
      updated_at: at,
    };
    this.records.set(instrument.instrument_token, record);
    return { ...record };
  }

  /** Soft delete; undefined when the token has no active subscription. */
  deactivate(token: number, now: Date): TickerSubscription | undefined {
    const existing = this.records.get(token);
    if (!existing || existing.status !== 'active') return undefined;
    existing.status = 'inactive';
    existing.updated_at = now.toISOString();
    return { ...existing };
  }

  get(token: number): TickerSubscription | undefined {
    const record = this.records.get(token);
    return record ? { ...record } : undefined;
  }

  isActive(token: number): boolean {
    return this.records.get(token)?.status === 'active';
  }

  list(status: SubscriptionStatus | undefined, limit: number, offset: number): TickerSubscription[] {
    const matching = [...this.records.values()].filter((r) => status === undefined || r.status === status);
    return matching.slice(offset, offset + limit).map((r) => ({ ...r }));
  }

  activeTokens(): number[] {
    return [...this.records.values()].filter((r) => r.status === 'active').map((r) => r.instrument_token);
  }

  clear(): void {
    this.records.clear();
  }
}
