import { BackfillProcessor } from '../../src/backfill/backfill.processor';
import { BACKFILL_REQUESTER } from '../../src/backfill/backfill.requests';
import { BackfillScheduler } from '../../src/backfill/backfill.scheduler';
import { BackfillService } from '../../src/backfill/backfill.service';
import { TickerWindowService } from '../../src/backfill/ticker-window.service';
import { MarketSessionsWriter } from '../../src/common/market-sessions.writer';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { startTestApp, TestApp } from '../support/app-harness';
import { freePort } from '../support/service-process';

/**
 * The backfill module is dynamic and imported by several modules (subscription events, tick stream,
 * health, config flags). Nest 11 keys dynamic modules by object: built twice, it would run two queues,
 * two workers and two schedulers. One app, one of each.
 */
describe('module wiring', () => {
  let app: TestApp | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Every instance of `token` in the app, however many modules provide it. */
  const instances = (token: unknown): unknown[] => {
    try {
      return app!.app.get(token as never, { strict: false, each: true }) as unknown[];
    } catch {
      // Nest throws where no module provides the token.
      return [];
    }
  };

  it('has one backfill service, worker, scheduler and requester with every feature on', async () => {
    app = await startTestApp({
      env: {
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        FO_STREAM_ENABLED: 'true',
        BACKFILL_INTERVAL_SECONDS: '86400',
        TICKER_SERVICE_URL: `http://127.0.0.1:${await freePort()}`,
      },
    });
    for (const token of [
      BackfillService,
      BackfillProcessor,
      BackfillScheduler,
      TickerWindowService,
      BACKFILL_REQUESTER,
      CandlesRepository,
      MarketSessionsWriter,
    ])
      expect(instances(token)).toHaveLength(1);
    expect(instances(BACKFILL_REQUESTER)[0]).toBe(instances(BackfillService)[0]);
  });

  it('has only the declining requester with the backfill off', async () => {
    app = await startTestApp();
    expect(instances(BackfillService)).toHaveLength(0);
    expect(instances(BackfillProcessor)).toHaveLength(0);
    expect(instances(BACKFILL_REQUESTER)).toHaveLength(1);
  });
});
