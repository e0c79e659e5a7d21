import { LoggerService } from '@nestjs/common';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { DEFAULT_NSE_HOLIDAYS, FixedClock, MarketCalendar } from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from './backfill-upstream.stub';

// Thursday 2026-11-26 10:00 IST.
const NOW = '2026-11-26T04:30:00.000Z';
const FROM = new Date('2026-11-26T03:45:00.000Z');
const calendar = new MarketCalendar(DEFAULT_NSE_HOLIDAYS);

/** Every line the app logs at warn or above, as text. */
function capture(): { lines: string[]; logger: LoggerService } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: unknown): void =>
      void lines.push(`${level} ${typeof message === 'string' ? message : JSON.stringify(message)}`);
  return {
    lines,
    logger: {
      log: () => undefined,
      warn: record('warn'),
      error: record('error'),
      debug: () => undefined,
      verbose: () => undefined,
    },
  };
}

async function finished(app: TestApp, jobId: string): Promise<{ state: string; error: string | null }> {
  return waitFor(`job ${jobId} finished`, async () => {
    const [row] = await app.database.query<{ state: string; error: string | null }>(
      `SELECT state, error FROM backfill_jobs WHERE id = $1`,
      [jobId],
    );
    return row && ['failed', 'skipped', 'succeeded'].includes(row.state) ? row : undefined;
  });
}

async function requestWindow(app: TestApp, clock: FixedClock, token: number): Promise<string> {
  const [result] = await app.app
    .get<BackfillRequester>(BACKFILL_REQUESTER)
    .request([
      { instrumentToken: token, trigger: 'manual', requestedAt: clock.now(), from: FROM, to: clock.now() },
    ]);
  expect(result.jobIds).toHaveLength(1);
  return result.jobIds[0];
}

describe("a permanent refusal of the upstream is logged at warn with the upstream's message, the token and the job", () => {
  const clock = new FixedClock(NOW);
  const env = {
    BACKFILL_ENABLED: 'true',
    BACKFILL_RATE_LIMIT_PER_SECOND: '20',
    BACKFILL_INTERVAL_SECONDS: '86400',
    BACKFILL_LOOKBACK_SESSIONS: '1',
  };

  it('Kite answering 400 InputException', async () => {
    const kite: Server = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'error',
          message: 'invalid instrument token for this interval',
          error_type: 'InputException',
        }),
      );
    });
    await new Promise<void>((resolve) => kite.listen(0, '127.0.0.1', () => resolve()));
    const { lines, logger } = capture();
    const app = await startTestApp({
      clock,
      logger,
      env: {
        ...env,
        HISTORY_PROVIDER: 'kite',
        KITE_BASE_URL: `http://127.0.0.1:${(kite.address() as AddressInfo).port}`,
        KITE_API_KEY: 'key1',
        KITE_ACCESS_TOKEN: 'token1',
      },
    });
    try {
      const jobId = await requestWindow(app, clock, 41);
      expect(await finished(app, jobId)).toMatchObject({ state: 'failed' });
      const logged = lines.filter((line) => line.includes(jobId));
      expect(logged).toEqual([
        expect.stringMatching(
          /^warn .*instrument 41\b.*InputException.*invalid instrument token for this interval/,
        ),
      ]);
    } finally {
      await app.close();
      await new Promise<void>((resolve) => kite.close(() => resolve()));
    }
  });

  it('the ticker answering 400 and 404', async () => {
    const stub = await new HistoryStub({ clock, calendar, unknownTokens: [43] }).start();
    const { lines, logger } = capture();
    const app = await startTestApp({ clock, logger, env: { ...env, TICKER_SERVICE_URL: stub.url } });
    try {
      stub.failures = [400];
      const refused = await requestWindow(app, clock, 42);
      expect(await finished(app, refused)).toMatchObject({ state: 'failed' });
      expect(lines.filter((line) => line.includes(refused))).toEqual([
        expect.stringMatching(/^warn .*instrument 42\b.*400.*stub 400/),
      ]);
      const unknown = await requestWindow(app, clock, 43);
      expect(await finished(app, unknown)).toMatchObject({ state: 'skipped' });
      expect(lines.filter((line) => line.includes(unknown))).toEqual([
        expect.stringMatching(/^warn .*instrument 43\b.*404.*stub 404/),
      ]);
    } finally {
      await app.close();
      await stub.stop();
    }
  });
});
