import request from 'supertest';
import { RunningSimulator } from '../../simulator/simulator';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import { withTimeout } from '../../src/common/with-timeout';
import { FixedClock, MINUTE_MS, parseUpstreamTime } from '../../src/contracts/market-time';
import { FoBarBuilder } from '../../src/fo-stream/fo-bar.builder';
import { FoStreamFlusher } from '../../src/fo-stream/fo-stream.flusher';
import { startTestApp, TestApp } from '../support/app-harness';
import { storedCandles, storedCandlesBetween } from '../support/candles';
import { createTestDatabase, TestDatabase } from '../support/database';
import { uniqueName } from '../support/env';
import { startFoStreamRig, tradedDerivativeTokens } from '../support/fo-stream';
import { startHistorySimulator } from '../support/simulator';
import { TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait-for';

// The server cancels a statement after 1 s; when it does not answer at all the client gives up at 3 s.
const QUERY_TIMEOUT_MS = 1000;
const CLIENT_GIVES_UP_MS = QUERY_TIMEOUT_MS + 2000;

/**
 * A database that accepts connections and never answers (the proxy holds the bytes instead of
 * resetting): nothing may wait on it for ever. Each wait ends within the query timeout, and the
 * work is retried once the database answers again.
 */
describe('a hung database', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;

  beforeEach(async () => {
    database = await createTestDatabase();
    proxy = await TcpProxy.forUrl(database.url).start();
  });

  afterEach(async () => {
    proxy.restore();
    await proxy.stop();
    await database.drop();
  });

  it('times out a backfill job mid-write, keeps its attempt, and stores its data once the database answers', async () => {
    // Thursday 2025-11-06 11:00:30 IST; one session of lookback, the minute 11:00 still forming.
    const clock = new FixedClock('2025-11-06T05:30:30.000Z');
    const channelPrefix = `${uniqueName('sim')}:nifty`;
    const sim: RunningSimulator = await startHistorySimulator(channelPrefix, clock);
    // Slow enough that the database is held while the answer is on its way: the write meets it.
    sim.setKnobs({ latencyMs: 1500 });
    let app: TestApp | undefined;
    try {
      app = await startTestApp({
        clock,
        database,
        channelPrefix,
        env: {
          DATABASE_URL: proxy.rewrite(database.url),
          DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS),
          BACKFILL_ENABLED: 'true',
          TICKER_SERVICE_URL: sim.url,
          BACKFILL_LOOKBACK_SESSIONS: '1',
          BACKFILL_INTERVAL_SECONDS: '86400',
          BACKFILL_RATE_LIMIT_PER_SECOND: '20',
        },
      });
      const token = sim.universe.instruments.find(
        (i) => i.kind === 'CE' && i.strikeDistance === 0,
      )!.instrument_token;
      const requester = app.app.get<BackfillRequester>(BACKFILL_REQUESTER);
      const [{ jobIds }] = await requester.request([
        { instrumentToken: token, trigger: 'manual', requestedAt: clock.now() },
      ]);
      expect(jobIds).toHaveLength(1);
      await waitFor('the history request in flight', () => sim.stats().history.requests === 1);
      proxy.hold();

      // The write cannot be answered: it gives up within the client's timeout, and the job goes back
      // to the queue without using an attempt.
      const url = app.url;
      const held = await waitFor(
        'the job put back for the database',
        async () => {
          const res = await request(url).get('/metrics');
          return /backfill_jobs_deferred_total\{cause="database"\} [1-9]/.test(res.text)
            ? res.text
            : undefined;
        },
        { timeoutMs: 1500 + CLIENT_GIVES_UP_MS + 3000, intervalMs: 100 },
      );
      expect(held).toContain('backfill_dependency_down{dependency="database"} 1');
      const ready = await request(url).get('/health/ready');
      expect(ready.body.details.backfill.waiting_for).toMatchObject({ dependency: 'database' });

      proxy.restore();
      const job = await waitFor(
        'the job succeeded after the database answers again',
        async () => {
          const rows = await database.query<{ state: string; attempts: number }>(
            `SELECT state, attempts FROM backfill_jobs WHERE id = $1`,
            [jobIds[0]],
          );
          return rows[0]?.state === 'succeeded' ? rows[0] : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(job.attempts).toBe(1);
      const expected = sim.history(
        token,
        '2025-11-06T03:45:00Z',
        new Date(Date.parse('2025-11-06T05:30:00Z')),
        {
          oi: true,
        },
      );
      const rows = await storedCandles(database, token);
      expect(rows.map((row) => [new Date(row.time).toISOString(), row.close, Number(row.volume)])).toEqual(
        expected.map((c) => [parseUpstreamTime(c.date).toISOString(), c.close, c.volume]),
      );
      const metrics = await request(url).get('/metrics');
      expect(metrics.text).toContain('backfill_dependency_down{dependency="database"} 0');
      expect(metrics.text).not.toMatch(/backfill_triggers_total\{trigger="manual",outcome="failed"\}/);
    } finally {
      await app?.close();
      await sim.stop();
    }
  }, 60_000);

  it("ends the stream flusher's write within the timeout and writes the bars once the database answers", async () => {
    const start = Date.parse('2025-11-03T05:00:00Z');
    const clock = new FixedClock(new Date(start));
    const rig = await startFoStreamRig({
      clock,
      graceMs: 200,
      strikesEachSide: 1,
      app: {
        database,
        env: { DATABASE_URL: proxy.rewrite(database.url), DB_QUERY_TIMEOUT_MS: String(QUERY_TIMEOUT_MS) },
      },
    });
    try {
      const { app, sim } = rig;
      const flusher = app.app.get(FoStreamFlusher);
      const tokens = tradedDerivativeTokens(sim);
      clock.set(new Date(start + 59_000));
      for (const token of tokens) await sim.publishMinute(token, start);
      const builder = app.app.get(FoBarBuilder);
      await waitFor('the minute open in the builder', () => builder.openBars === tokens.length);
      proxy.hold();
      clock.set(new Date(start + MINUTE_MS + 201));
      // The single write in flight must end (fail) within the client's timeout, not hang for ever.
      await withTimeout(flusher.flushDue(), CLIENT_GIVES_UP_MS + 3000, 'the held flush');
      expect(flusher.backlog).toBe(tokens.length);
      const ready = await request(app.url).get('/health/ready');
      expect(Number(ready.body.details.fo_stream.write_failures)).toBeGreaterThanOrEqual(1);

      proxy.restore();
      await waitFor('every bar written after the database answers again', () => flusher.backlog === 0, {
        timeoutMs: 20_000,
      });
      const rows = await storedCandlesBetween(database, start);
      expect(rows.map((row) => Number(row.instrument_token)).sort()).toEqual([...tokens].sort());
      for (const row of rows) {
        const candle = sim.candleFor(Number(row.instrument_token), row.time)!;
        expect([row.open, row.high, row.low, row.close, Number(row.volume)]).toEqual([
          candle.open,
          candle.high,
          candle.low,
          candle.close,
          candle.volume,
        ]);
      }
    } finally {
      await rig.close();
    }
  }, 60_000);
});
