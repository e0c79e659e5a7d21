import { Injectable } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { BackfillQueueDto } from './dto/backfill-queue.dto';

const DEPTH_STATES = ['waiting', 'prioritized', 'paused', 'delayed', 'active', 'failed'] as const;
const OUTCOMES = ['succeeded', 'failed', 'skipped'] as const;

/**
 * The queue at a glance (`GET /api/v1/backfill/queue`), read from the metric objects themselves, so
 * that the route and `/metrics` cannot disagree: the queue depth is the scheduler's last sample, as
 * a dashboard sees it, not a second count of the queue.
 */
@Injectable()
export class BackfillQueueService {
  constructor(private readonly metrics: MetricsService) {}

  async snapshot(): Promise<BackfillQueueDto> {
    const m = this.metrics;
    const [depth, outcomes, candlesWritten, timeToData, circuitOpen, subscriptionsActive, streamBars] =
      await Promise.all([
        Promise.all(DEPTH_STATES.map((state) => m.sum(m.backfillQueueDepth, { state }))),
        Promise.all(OUTCOMES.map((outcome) => m.sum(m.backfillTriggers, { outcome }))),
        m.sum(m.backfillCandlesWritten),
        m.histogramTotals(m.backfillTimeToData),
        m.sum(m.backfillCircuitOpen),
        m.sum(m.subscriptionsActive),
        m.sum(m.foBarsWritten),
      ]);
    const byName = <K extends string>(names: readonly K[], values: number[]): Record<K, number> =>
      Object.fromEntries(names.map((name, i) => [name, values[i]])) as Record<K, number>;
    return {
      depth: byName(DEPTH_STATES, depth),
      jobs: byName(OUTCOMES, outcomes),
      candles_written: candlesWritten,
      time_to_data: {
        count: timeToData.count,
        sum_seconds: timeToData.sum,
        mean_seconds: timeToData.count > 0 ? timeToData.sum / timeToData.count : null,
      },
      upstream_circuit_open: circuitOpen > 0,
      subscriptions_active: subscriptionsActive,
      stream_bars_written: streamBars,
    };
  }
}
