// Lets the backfill scheduler run a reconciliation at the start of each cycle without depending on
// the subscription-events module.

/** `recovery`: after events that could not be applied (the database was unreachable). */
export type ReconcileReason = 'boot' | 'reconnect' | 'cycle' | 'manual' | 'recovery';

export interface ReconcileResult {
  reason: ReconcileReason;
  /** Tokens active upstream that were unknown or inactive here (treated as created). */
  added: number[];
  /** Tokens active here that are gone upstream (now inactive). */
  removed: number[];
  /** False when the ticker could not be read; nothing was changed then. */
  complete: boolean;
  /**
   * Tokens gone upstream that were kept active because they were too many at once (the mass-removal
   * guard); present only when the guard held a removal back.
   */
  held?: number[];
}

export interface SubscriptionReconciler {
  reconcile(reason: ReconcileReason): Promise<ReconcileResult>;
}

export const SUBSCRIPTION_RECONCILER = Symbol('SUBSCRIPTION_RECONCILER');
