import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../app.settings';
import { BackfillRequest, BackfillRequester } from '../backfill/backfill.requests';
import { InstrumentsService } from '../market-data/instruments.service';
import { MetricsService } from '../metrics/metrics.service';
import { SubscriptionsRepository } from '../subscriptions-store/subscriptions.repository';
import { SubscriptionsService } from './subscriptions.service';

/** Records the order of requester calls; each call waits until the test releases it. */
class RecordingRequester implements BackfillRequester {
  calls: string[] = [];
  private gates: (() => void)[] = [];
  failNext = false;

  async request(requests: readonly BackfillRequest[]) {
    const what = requests.map((r) => `${r.instrumentToken}@${r.requestedAt.toISOString().slice(11, 19)}`);
    this.calls.push(`request ${requests[0].trigger} ${what.join(',')}`);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('queue unreachable');
    }
    this.calls.push(`enqueued ${requests.map((r) => r.instrumentToken).join(',')}`);
    return requests.map((r) => ({ jobIds: [`bf-${r.instrumentToken}-1-2`] }));
  }

  async cancelPending(tokens: readonly number[]) {
    this.calls.push(`cancel ${tokens.join(',')}`);
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return tokens.length;
  }

  /** Lets the call that waits go on. */
  release(): void {
    this.gates.shift()?.();
  }

  get waiting(): number {
    return this.gates.length;
  }
}

function build(requester: RecordingRequester, immediate = true): SubscriptionsService {
  const config = Object.assign(new AppConfig(), { BACKFILL_IMMEDIATE_ON_SUBSCRIBE: immediate });
  const repository = {
    activate: async () => undefined,
    deactivate: async (tokens: number[]) => tokens,
    countActive: async () => 0,
  } as unknown as SubscriptionsRepository;
  const instruments = { record: async () => undefined } as unknown as InstrumentsService;
  return new SubscriptionsService(config, repository, instruments, new MetricsService(), requester);
}

const AT = new Date('2025-11-03T06:00:00Z');
const LATER = new Date('2025-11-03T06:00:05Z');
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Releases every call as it comes until `until` settles. */
async function releaseAll(requester: RecordingRequester, until: Promise<unknown>): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    requester.release();
    await flush();
  }
}

describe('SubscriptionsService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('hands a batch to the backfill whole, with each arrival time, without holding up the caller', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const { backfill } = await service.subscribe(
      [
        { instrumentToken: 7, tradingsymbol: 'X', requestedAt: AT },
        { instrumentToken: 8, requestedAt: LATER },
      ],
      'event',
      AT,
    );
    await flush();
    expect(requester.calls).toEqual(['request event 7@06:00:00,8@06:00:05']);
    expect(service.pendingRequests).toBe(1);
    requester.release();
    await backfill;
    expect(requester.calls).toEqual(['request event 7@06:00:00,8@06:00:05', 'enqueued 7,8']);
    expect(service.pendingRequests).toBe(0);
  });

  it('requests nothing when BACKFILL_IMMEDIATE_ON_SUBSCRIBE is off', async () => {
    const requester = new RecordingRequester();
    const { backfill } = await build(requester, false).subscribe(
      [{ instrumentToken: 7, requestedAt: AT }],
      'event',
      AT,
    );
    await backfill;
    expect(requester.calls).toEqual([]);
  });

  it('drops the waiting jobs of a removal only after the request before it reached the queue', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const first = await service.subscribe([{ instrumentToken: 7, requestedAt: AT }], 'event', AT);
    const removal = await service.unsubscribe([7], AT, 'event', first.backfill);
    expect(removal.known).toEqual([7]);
    await flush();
    expect(requester.calls).toEqual(['request event 7@06:00:00']);
    await releaseAll(requester, removal.backfill);
    expect(requester.calls).toEqual(['request event 7@06:00:00', 'enqueued 7', 'cancel 7']);
  });

  it('ends subscribe, unsubscribe, subscribe of one token with its jobs requested again, last', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const first = await service.subscribe([{ instrumentToken: 7, requestedAt: AT }], 'event', AT);
    const removal = await service.unsubscribe([7], AT, 'event', first.backfill);
    const again = await service.subscribe(
      [{ instrumentToken: 7, requestedAt: LATER }],
      'event',
      LATER,
      removal.backfill,
    );
    await releaseAll(requester, again.backfill);
    expect(requester.calls).toEqual([
      'request event 7@06:00:00',
      'enqueued 7',
      'cancel 7',
      'request event 7@06:00:05',
      'enqueued 7',
    ]);
  });

  it('drops the waiting jobs of a batch of removals in one call, after every request before it', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const first = await service.subscribe(
      [7, 8].map((instrumentToken) => ({ instrumentToken, requestedAt: AT })),
      'event',
      AT,
    );
    const second = await service.subscribe(
      [{ instrumentToken: 9, requestedAt: AT }],
      'reconcile',
      AT,
      first.backfill,
    );
    const removal = await service.unsubscribe([7, 8, 9], AT, 'reconcile', second.backfill);
    await releaseAll(requester, removal.backfill);
    expect(requester.calls).toEqual([
      'request event 7@06:00:00,8@06:00:00',
      'enqueued 7,8',
      'request reconcile 9@06:00:00',
      'enqueued 9',
      'cancel 7,8,9',
    ]);
  });

  it('starts queue work with nothing to follow at once, beside work under way', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    const first = await service.subscribe([{ instrumentToken: 1, requestedAt: AT }], 'event', AT);
    // Another caller's removal of other tokens (a reconciliation) does not wait for the events' request.
    const removal = await service.unsubscribe([3, 4], LATER, 'reconcile');
    await flush();
    expect(requester.calls).toEqual(['request event 1@06:00:00', 'cancel 3,4']);
    expect(service.pendingRequests).toBe(2);
    const after = await service.subscribe(
      [{ instrumentToken: 5, requestedAt: LATER }],
      'event',
      LATER,
      first.backfill,
    );
    expect(service.pendingRequests).toBe(3);
    await releaseAll(requester, Promise.all([after.backfill, removal.backfill]));
    expect(requester.calls).toEqual([
      'request event 1@06:00:00',
      'cancel 3,4',
      'enqueued 1',
      'request event 5@06:00:05',
      'enqueued 5',
    ]);
    expect(service.pendingRequests).toBe(0);
    await service.settled();
  });

  it('goes on with the next step when a request fails (the sweep catches up)', async () => {
    const requester = new RecordingRequester();
    const service = build(requester);
    requester.failNext = true;
    const first = await service.subscribe([{ instrumentToken: 7, requestedAt: AT }], 'event', AT);
    const second = await service.subscribe(
      [{ instrumentToken: 8, requestedAt: AT }],
      'event',
      AT,
      first.backfill,
    );
    await releaseAll(requester, second.backfill);
    await expect(first.backfill).resolves.toBeUndefined();
    expect(requester.calls).toEqual(['request event 7@06:00:00', 'request event 8@06:00:00', 'enqueued 8']);
    expect(service.pendingRequests).toBe(0);
  });
});
