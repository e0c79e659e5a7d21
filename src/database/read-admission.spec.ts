import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { loadAppConfig } from '../app.settings';
import { MetricsService } from '../metrics/metrics.service';
import { LAGGING_READS_IN_FLIGHT, READ_LOOP_DELAY_LIMIT_MS, ReadAdmission } from './read-admission';
import { ServiceUnavailableError } from '../common/service-unavailable';

const made: ReadAdmission[] = [];
afterEach(() => made.splice(0).forEach((gate) => gate.onModuleDestroy()));

async function admission(
  settings: Record<string, string>,
): Promise<{ admission: ReadAdmission; metrics: MetricsService }> {
  const metrics = new MetricsService();
  const { config } = await loadAppConfig({ env: { APP_ENV: 'dev', ...settings }, envDir: '/nonexistent' });
  // No query runs here: the pool is only looked at to tell a busy replica from a database that is down.
  const readDataSource = new DataSource({ type: 'postgres', url: 'postgres://127.0.0.1:1/none' });
  const gate = new ReadAdmission(config, metrics, readDataSource, new SchedulerRegistry());
  made.push(gate);
  return { admission: gate, metrics };
}

async function refusal(promise: Promise<unknown>): Promise<ServiceUnavailableError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    return error as ServiceUnavailableError;
  }
  throw new Error('expected a refusal');
}

describe('ReadAdmission', () => {
  it('admits up to the slots, lets the queue wait, refuses beyond the queue at once', async () => {
    const { admission: gate, metrics } = await admission({
      API_READS_IN_FLIGHT: '2',
      API_READ_QUEUE_LENGTH: '1',
      API_READ_QUEUE_WAIT_MS: '2000',
    });
    const first = await gate.admit();
    await gate.admit();
    const queued = gate.admit();
    const started = Date.now();
    const refused = await refusal(gate.admit());
    expect(Date.now() - started).toBeLessThan(50);
    expect(refused.getStatus()).toBe(503);
    expect(refused.retryAfterSeconds).toBe(1);
    expect(refused.getResponse()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'server busy: more than 2 reads in flight',
    });
    first();
    first(); // a second release gives nothing back twice
    await queued;
    expect((await metrics.apiReadsInFlight.get()).values[0].value).toBe(2);
    expect((await metrics.apiReadsRefused.get()).values[0].value).toBe(1);
    await refusal(gate.admit());
  });

  it('refuses a read that waited its longest for a slot, and gives the slot to the next', async () => {
    const { admission: gate } = await admission({
      API_READS_IN_FLIGHT: '1',
      API_READ_QUEUE_LENGTH: '5',
      API_READ_QUEUE_WAIT_MS: '100',
    });
    const held = await gate.admit();
    const started = Date.now();
    await refusal(gate.admit());
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    held();
    const next = await gate.admit();
    next();
  });

  it('serves a few reads at once while the event loop lags, one at a time once it refuses', async () => {
    const { admission: gate } = await admission({ API_READS_IN_FLIGHT: '10', API_READ_QUEUE_WAIT_MS: '300' });
    const held = await Promise.all(Array.from({ length: LAGGING_READS_IN_FLIGHT }, () => gate.admit()));
    // The delay monitor measures from its previous sample: give it one before the thread is held.
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Hold the thread past the limit; within a sampling period or two the lag is seen.
    const until = Date.now() + 4 * READ_LOOP_DELAY_LIMIT_MS;
    while (Date.now() < until);
    let refused: unknown;
    for (const deadline = Date.now() + 1500; !refused && Date.now() < deadline;) {
      await gate.admit().then(
        (release) => release(),
        (error: unknown) => (refused = error),
      );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(refused).toBeInstanceOf(ServiceUnavailableError);
    expect((refused as Error).message).toMatch(/event loop \d+ ms behind/);
    // Refusing now (a storm), it serves one read at a time while the loop lags.
    held[0]();
    await refusal(gate.admit());
    held.slice(1).forEach((release) => release());
    const alone = await gate.admit();
    alone();
  });
});
