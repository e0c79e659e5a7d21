import { MetricsService } from './metrics.service';

describe('MetricsService readings', () => {
  it("sums a metric's samples whose labels include the ones given, as /metrics would", async () => {
    const metrics = new MetricsService();
    metrics.backfillTriggers.inc({ trigger: 'event', outcome: 'succeeded' }, 3);
    metrics.backfillTriggers.inc({ trigger: 'sweep', outcome: 'succeeded' }, 2);
    metrics.backfillTriggers.inc({ trigger: 'sweep', outcome: 'failed' });
    metrics.backfillQueueDepth.set({ state: 'waiting' }, 7);
    expect(await metrics.sum(metrics.backfillTriggers, { outcome: 'succeeded' })).toBe(5);
    expect(await metrics.sum(metrics.backfillTriggers, { trigger: 'sweep', outcome: 'failed' })).toBe(1);
    expect(await metrics.sum(metrics.backfillTriggers)).toBe(6);
    expect(await metrics.sum(metrics.backfillQueueDepth, { state: 'failed' })).toBe(0);
    expect(await metrics.sum(metrics.backfillQueueDepth, { state: 'waiting' })).toBe(7);
    expect(await metrics.sum(metrics.backfillCandlesWritten)).toBe(0);
  });

  it("gives a histogram's count and sum over every label set", async () => {
    const metrics = new MetricsService();
    expect(await metrics.histogramTotals(metrics.backfillTimeToData)).toEqual({ count: 0, sum: 0 });
    metrics.backfillTimeToData.observe(0.5);
    metrics.backfillTimeToData.observe(2);
    metrics.backfillJobDuration.observe({ trigger: 'event' }, 1);
    metrics.backfillJobDuration.observe({ trigger: 'sweep' }, 3);
    expect(await metrics.histogramTotals(metrics.backfillTimeToData)).toEqual({ count: 2, sum: 2.5 });
    expect(await metrics.histogramTotals(metrics.backfillJobDuration)).toEqual({ count: 2, sum: 4 });
  });
});
