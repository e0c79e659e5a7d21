import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { BACKFILL_QUEUE } from '../../src/backfill/backfill.constants';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { MetricsService } from '../../src/metrics/metrics.service';
import { SubscriptionReconcilerService } from '../../src/subscription-events/subscription-reconciler.service';
import { SubscriptionsRepository } from '../../src/subscriptions-store/subscriptions.repository';
import { SubscriptionsService } from '../../src/subscription-events/subscriptions.service';
import { startTestApp, TestApp } from '../support/app-harness';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST; one session of lookback (45 finished minutes).
const NOW = '2026-11-26T04:30:00.000Z';
const REMOVED_AT = new Date('2026-11-26T04:29:00.000Z');

// A job of an instrument unsubscribed by the time it runs (its removal's drop of waiting jobs came
// before the job reached the queue: another replica's request, a reconciliation beside the events).
describe('backfill job of an instrument unsubscribed before it runs', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let app: TestApp;

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS) }).start();
    app = await startTestApp({
      clock,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: stub.url,
        BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        BACKFILL_LOOKBACK_SESSIONS: '1',
        BACKFILL_INTERVAL_SECONDS: '86400',
        RECONCILE_INTERVAL_SECONDS: '86400',
        SUBSCRIPTION_EVENTS_ENABLED: 'false',
      },
    });
    // The reconciliation at boot (an empty list, nothing here) is over before anything is subscribed.
    const reconciler = app.app.get(SubscriptionReconcilerService);
    await waitFor(
      'boot reconciliation done',
      () => !reconciler.running && reconciler.last?.complete === true,
    );
  });

  afterAll(async () => {
    await app?.close();
    await stub?.stop();
  });

  const records = (tokens: number[]) =>
    app.database.query<{ instrument_token: string; trigger: string; state: string; error: string | null }>(
      `SELECT instrument_token, trigger, state, error FROM backfill_jobs
        WHERE instrument_token = ANY($1::bigint[]) ORDER BY instrument_token, trigger`,
      [tokens],
    );

  it('ends skipped, saying why, without asking the upstream; the others run', async () => {
    const queue = app.app.get<Queue>(getQueueToken(BACKFILL_QUEUE));
    await queue.pause();
    const subscriptions = app.app.get(SubscriptionsService);
    const { backfill } = await subscriptions.subscribe(
      [601, 602].map((instrumentToken) => ({ instrumentToken, requestedAt: new Date(NOW) })),
      'event',
      new Date(NOW),
    );
    await backfill;
    // 603 has no subscription row (a request made through the port): only a recorded removal ends a job.
    // 601's manual window runs whatever its subscription says.
    await app.app.get<BackfillRequester>(BACKFILL_REQUESTER).request([
      { instrumentToken: 603, trigger: 'event', requestedAt: new Date(NOW) },
      {
        instrumentToken: 601,
        trigger: 'manual',
        requestedAt: new Date(NOW),
        from: new Date('2026-11-26T04:00:00.000Z'),
        to: new Date('2026-11-26T04:10:00.000Z'),
      },
    ]);
    // The removal is recorded; its waiting jobs are not dropped.
    expect(await app.app.get(SubscriptionsRepository).deactivate([601], REMOVED_AT)).toEqual([601]);
    const skippedBefore = await skipped(app);
    await queue.resume();

    const done = await waitFor(
      'every job ended',
      async () => {
        const rows = await records([601, 602, 603]);
        return (
          rows.length === 4 && rows.every((row) => row.state !== 'queued' && row.state !== 'running') && rows
        );
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    expect(done).toEqual([
      {
        instrument_token: '601',
        trigger: 'event',
        state: 'skipped',
        error: `instrument unsubscribed at ${REMOVED_AT.toISOString()}`,
      },
      { instrument_token: '601', trigger: 'manual', state: 'succeeded', error: null },
      { instrument_token: '602', trigger: 'event', state: 'succeeded', error: null },
      { instrument_token: '603', trigger: 'event', state: 'succeeded', error: null },
    ]);
    // The upstream was asked for 601's manual window only.
    const asked = stub.requests.filter((r) => r.token === 601);
    expect(asked).toHaveLength(1);
    expect(asked[0].fromTs).toBe(Date.parse('2026-11-26T04:00:00.000Z') / 1000);
    expect((await skipped(app)) - skippedBefore).toBe(1);
  });
});

async function skipped(app: TestApp): Promise<number> {
  const metric = await app.app.get(MetricsService).backfillSkipped.get();
  return metric.values.filter((v) => v.labels.reason === 'unsubscribed').reduce((sum, v) => sum + v.value, 0);
}
