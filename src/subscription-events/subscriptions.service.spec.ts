import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BackfillRequest, BackfillRequester } from '../backfill/backfill.requests';
import { InstrumentsRepository } from '../market-data/instruments.repository';
import { MetricsService } from '../metrics/metrics.service';
import { SubscriptionsRepository } from './subscriptions.repository';
import { requestConcurrency, SubscriptionsService } from './subscriptions.service';

/** Records the order of requester calls; each request waits until the test releases it. */
class RecordingRequester implements BackfillRequester {
  calls: string[] = [];
  gates = new Map<number, () => void>();
  async request(request: BackfillRequest) {
    this.calls.push(`request ${request.instrumentToken} ${request.trigger}`);
    await new Promise<void>((resolve) => this.gates.set(request.instrumentToken, resolve));
    this.calls.push(`enqueued ${request.instrumentToken}`);
    return { jobIds: [`bf-${request.instrumentToken}-1-2`] };
  }
  async cancelPending(tokens: readonly number[]) {
    this.calls.push(`cancel ${tokens.join(',')}`);
    return tokens.length;
  }
}

function build(requester: RecordingRequester, immediate = true): SubscriptionsService {
  const config = Object.assign(new AppConfig(), { BACKFILL_IMMEDIATE_ON_SUBSCRIBE: immediate });
  const repository = {
    activate: async () => undefined,
    deactivate: async (tokens: number[]) => tokens,
    countActive: async () => 0,
  } as unknown as SubscriptionsRepository;
  const instruments = { upsert: async () => undefined } as unknown as InstrumentsRepository;
  return new SubscriptionsService(config, repository, instruments, new MetricsService(), requester);
}

const AT = new Date('2025-11-03T06:00:00Z');
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('SubscriptionsService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('requests an immediate backfill per instrument with the arrival time, without holding up the caller', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const { requested } = await service.subscribe(
      [{ instrumentToken: 7, tradingsymbol: 'X', requestedAt: AT }],
      'event',
      AT,
    );
    await flush();
    expect(requester.calls).toEqual(['request 7 event']);
    expect(service.pendingRequests).toBe(1);
    requester.gates.get(7)!();
    await requested.get(7);
    expect(requester.calls).toEqual(['request 7 event', 'enqueued 7']);
    expect(service.pendingRequests).toBe(0);
  });

  it('requests nothing when BACKFILL_IMMEDIATE_ON_SUBSCRIBE is off', async () => {
    const requester = new RecordingRequester();
    const { requested } = await build(requester, false).subscribe(
      [{ instrumentToken: 7, requestedAt: AT }],
      'event',
      AT,
    );
    expect(requested.size).toBe(0);
    expect(requester.calls).toEqual([]);
  });

  it('a removal waits for the running request and then drops the waiting jobs, so none is left behind', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    await service.subscribe([{ instrumentToken: 7, requestedAt: AT }], 'event', AT);
    await flush();
    const removal = service.unsubscribe([7], AT, 'event');
    await flush();
    expect(requester.calls).toEqual(['request 7 event']);
    requester.gates.get(7)!();
    expect(await removal).toEqual([7]);
    expect(requester.calls).toEqual(['request 7 event', 'enqueued 7', 'cancel 7']);
  });

  it('a removal withdraws a request that has not started', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    // Enough requests to occupy the pipeline; the next one waits.
    const busy = Array.from({ length: requestConcurrency(new AppConfig()) }, (_, i) => ({
      instrumentToken: 100 + i,
      requestedAt: AT,
    }));
    await service.subscribe(busy, 'reconcile', AT);
    await service.subscribe([{ instrumentToken: 7, requestedAt: AT }], 'event', AT);
    await flush();
    expect(requester.calls).not.toContain('request 7 event');
    const removal = service.unsubscribe([7], AT, 'event');
    await flush();
    for (const release of requester.gates.values()) release();
    await removal;
    await flush();
    expect(requester.calls).not.toContain('request 7 event');
    expect(requester.calls).toContain('cancel 7');
    expect(service.pendingRequests).toBe(0);
  });

  it('drops the waiting jobs of a batch of removals in one call, after every request has settled', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    await service.subscribe(
      [7, 8, 9].map((instrumentToken) => ({ instrumentToken, requestedAt: AT })),
      'event',
      AT,
    );
    await flush();
    const removal = service.unsubscribe([7, 8, 9], AT, 'reconcile');
    await flush();
    expect(requester.calls.filter((call) => call.startsWith('cancel'))).toEqual([]);
    for (const release of requester.gates.values()) release();
    expect(await removal).toEqual([7, 8, 9]);
    expect(requester.calls.filter((call) => call.startsWith('cancel'))).toEqual(['cancel 7,8,9']);
    expect(requester.calls.indexOf('cancel 7,8,9')).toBeGreaterThan(
      requester.calls.lastIndexOf('enqueued 9'),
    );
  });
});
