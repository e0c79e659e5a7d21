import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every metric of the service, registered in one place on a registry of this application instance
 * (so several instances in one process, as in tests, never collide). Names in section 5 of
 * CONTRACTS.md are promises to dashboards: do not rename them.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly subscriptionEvents = new Counter({
    name: 'subscription_events_total',
    help: 'Subscription events by type and outcome (processed, rejected, ignored)',
    labelNames: ['event_type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly subscriptionEventsRejected = new Counter({
    name: 'subscription_events_rejected_total',
    help: 'Subscription events rejected, by reason (invalid_json, oversized, invalid_<field>, ...)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly subscriptionsActive = new Gauge({
    name: 'subscriptions_active',
    help: 'Instruments whose subscription is active in the service view',
    registers: [this.registry],
  });

  readonly reconciliations = new Counter({
    name: 'subscription_reconciliations_total',
    help: 'Reconciliations against the ticker subscription list by reason and outcome',
    labelNames: ['reason', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly reconcileGuarded = new Counter({
    name: 'subscription_reconcile_guarded_total',
    help: 'Reconciliations whose list would have unsubscribed more than RECONCILE_MAX_REMOVAL_FRACTION of the active subscriptions, and removed nothing',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly backfillTriggers = new Counter({
    name: 'backfill_triggers_total',
    help: 'Backfill requests by trigger (event, manual, reconcile, stream_gap, sweep) and outcome (succeeded, failed, skipped)',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly backfillSkipped = new Counter({
    name: 'backfill_jobs_skipped_total',
    help: 'Backfill jobs that ended skipped when they ran, without asking the upstream, by reason (unsubscribed, unsupported)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly backfillTimeToData = new Histogram({
    name: 'backfill_time_to_data_seconds',
    help: 'From the subscription event arrival to its candles committed',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly backfillUpstreamRequests = new Counter({
    name: 'backfill_upstream_requests_total',
    help: 'History requests to the upstream by provider and result class',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });

  readonly backfillJobDuration = new Histogram({
    name: 'backfill_job_duration_seconds',
    help: 'Duration of one backfill job (fetch and write)',
    labelNames: ['trigger'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly backfillCandlesWritten = new Counter({
    name: 'backfill_candles_written_total',
    help: 'History candles upserted by the backfill',
    registers: [this.registry],
  });

  readonly backfillQueueDepth = new Gauge({
    name: 'backfill_queue_depth',
    help: 'Backfill jobs by queue state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  readonly backfillCircuitOpen = new Gauge({
    name: 'backfill_upstream_circuit_open',
    help: '1 while the circuit breaker keeps requests away from a failing upstream',
    registers: [this.registry],
  });

  readonly backfillWindowMismatch = new Counter({
    name: 'backfill_window_mismatch_total',
    help: 'History answers with candles outside the window asked for (the upstream answered another window), by provider and direction (earlier, later, both)',
    labelNames: ['provider', 'direction'] as const,
    registers: [this.registry],
  });

  readonly backfillTickerWindowShift = new Gauge({
    name: 'backfill_ticker_window_shift_minutes',
    help: "Minutes added to every window asked of the ticker's /history (330 undoes its 5h30 quirk)",
    registers: [this.registry],
  });

  readonly backfillTickerWindowVerified = new Gauge({
    name: 'backfill_ticker_window_verified',
    help: 'Whether the upstream has shown the shift in use to give the window asked for (1) or not (0)',
    registers: [this.registry],
  });

  readonly aggregateRefreshes = new Counter({
    name: 'candle_aggregate_refreshes_total',
    help: 'Refreshes of the continuous aggregates of candles_1m after backfills, by aggregate and outcome (refreshed, retried after a concurrent refresh, failed)',
    labelNames: ['aggregate', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly aggregateRefreshDuration = new Histogram({
    name: 'candle_aggregate_refresh_duration_seconds',
    help: 'Duration of one continuous aggregate refresh (at most a week of buckets)',
    labelNames: ['aggregate'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 300],
    registers: [this.registry],
  });

  readonly backfillDeferred = new Counter({
    name: 'backfill_jobs_deferred_total',
    help: 'Backfill jobs put back without using an attempt, by cause (database, upstream, circuit, credentials, shutdown)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  readonly backfillDependencyDown = new Gauge({
    name: 'backfill_dependency_down',
    help: '1 while the backfill worker takes no job because the dependency cannot be reached',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly backfillDependencyDownSeconds = new Counter({
    name: 'backfill_dependency_down_seconds_total',
    help: 'Time the backfill worker spent waiting for an unreachable dependency',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly backfillRecordsReconciled = new Counter({
    name: 'backfill_records_reconciled_total',
    help: 'Job records found disagreeing with the queue and put right, by action (requeued, failed, queued)',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  readonly backfillJobsPruned = new Counter({
    name: 'backfill_job_records_pruned_total',
    help: 'Finished job records deleted after BACKFILL_JOB_RETENTION_DAYS',
    registers: [this.registry],
  });

  readonly foTicksReceived = new Counter({
    name: 'fo_ticks_received_total',
    help: 'Ticks received by channel',
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });

  readonly foTicksRejected = new Counter({
    name: 'fo_ticks_rejected_total',
    help: 'Ticks rejected by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly instrumentTickDisagreements = new Counter({
    name: 'instrument_tick_disagreements_total',
    help: "Fields of a first-seen tick's instrument that disagreed with the instrument list or the tradingsymbol (the tick's value is kept), by field and source",
    labelNames: ['field', 'source'] as const,
    registers: [this.registry],
  });

  readonly instrumentListRefreshes = new Counter({
    name: 'instrument_list_refreshes_total',
    help: 'Reads of the instrument list (INSTRUMENT_LIST_SOURCE) by outcome (loaded, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly instrumentListSize = new Gauge({
    name: 'instrument_list_instruments',
    help: 'Instruments in the instrument list in use (0 before the first read, or without a list)',
    registers: [this.registry],
  });

  readonly foTickFieldsDropped = new Counter({
    name: 'fo_tick_fields_dropped_total',
    help: 'Instrument fields of a first-seen tick left out because no column could hold them, by field',
    labelNames: ['field'] as const,
    registers: [this.registry],
  });

  readonly foRowsParked = new Counter({
    name: 'fo_stream_rows_parked_total',
    help: 'Stream rows the database refused for a data reason (SQLSTATE class 22 or 23), set aside instead of retried, by kind (instrument, bar) and SQLSTATE',
    labelNames: ['kind', 'reason'] as const,
    registers: [this.registry],
  });

  readonly foBarsWritten = new Counter({
    name: 'fo_bars_written_total',
    help: 'Stream-built 1-minute bars committed',
    registers: [this.registry],
  });

  readonly foFlushLag = new Histogram({
    name: 'fo_flush_lag_seconds',
    help: "From a minute's end to its bar being committed",
    buckets: [0.5, 1, 2, 3, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly foBacklog = new Gauge({
    name: 'fo_backlog_bars',
    help: 'Closed bars waiting to be written',
    registers: [this.registry],
  });

  readonly apiReadsInFlight = new Gauge({
    name: 'api_reads_in_flight',
    help: 'Read requests holding an admission slot (at most API_READS_IN_FLIGHT)',
    registers: [this.registry],
  });

  readonly apiReadsWaiting = new Gauge({
    name: 'api_reads_waiting',
    help: 'Read requests waiting for an admission slot (at most API_READ_QUEUE_LENGTH)',
    registers: [this.registry],
  });

  readonly apiReadsRefused = new Counter({
    name: 'api_reads_refused_total',
    help: 'Read requests refused by admission control (503 with Retry-After)',
    registers: [this.registry],
  });

  readonly apiUnavailable = new Counter({
    name: 'api_unavailable_responses_total',
    help: 'Requests answered 503 with Retry-After, by reason (overload, database, redis)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * The sum of a counter's or gauge's samples whose labels include `labels`, as `sum(name{labels})`
   * over `/metrics` gives it: JSON routes read the same objects the exposition does, never a copy.
   */
  async sum<T extends string>(
    metric: Counter<T> | Gauge<T>,
    labels: Partial<Record<T, string>> = {},
  ): Promise<number> {
    const wanted = Object.entries(labels) as [T, string][];
    return (await metric.get()).values
      .filter((sample) => wanted.every(([name, value]) => sample.labels[name] === value))
      .reduce((total, sample) => total + sample.value, 0);
  }

  /** A histogram's observation count and sum over every label set (`_count` and `_sum`). */
  async histogramTotals<T extends string>(metric: Histogram<T>): Promise<{ count: number; sum: number }> {
    const { name, values } = await metric.get();
    const total = (suffix: string): number =>
      values
        .filter((sample) => sample.metricName === `${name}${suffix}`)
        .reduce((sum, sample) => sum + sample.value, 0);
    return { count: total('_count'), sum: total('_sum') };
  }
}
