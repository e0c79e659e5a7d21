import request from 'supertest';
import { BACKFILL_REQUESTER, BackfillRequester } from '../../src/backfill/backfill.requests';
import {
  DEFAULT_NSE_HOLIDAYS,
  FixedClock,
  MarketCalendar,
  parseUpstreamTime,
} from '../../src/contracts/market-time';
import { startTestApp, TestApp } from '../support/app-harness';
import { waitFor } from '../support/wait-for';
import { HistoryStub } from '../integration/backfill-upstream.stub';

// Thursday 2026-11-26 11:00 IST; the 24th is a holiday, so the lookback is the 19th, 20th, 23rd, 25th, 26th.
const NOW = '2026-11-26T05:30:00.000Z';
const TOKEN = 13660418;

describe('backfill end to end (event to data, API)', () => {
  const clock = new FixedClock(NOW);
  let stub: HistoryStub;
  let testApp: TestApp;

  beforeAll(async () => {
    stub = await new HistoryStub({ clock, calendar: new MarketCalendar(DEFAULT_NSE_HOLIDAYS) }).start();
    testApp = await startTestApp({
      clock,
      env: {
        BACKFILL_ENABLED: 'true',
        TICKER_SERVICE_URL: stub.url,
        BACKFILL_RATE_LIMIT_PER_SECOND: '50',
        BACKFILL_CONCURRENCY: '8',
        BACKFILL_INTERVAL_SECONDS: '86400',
        API_KEY: 'secret-key-1',
      },
    });
  });

  afterAll(async () => {
    await testApp?.close();
    await stub?.stop();
  });

  it('stores the full lookback with the upstream values and serves it', async () => {
    const requester = testApp.app.get<BackfillRequester>(BACKFILL_REQUESTER);
    const [result] = await requester.request([
      { instrumentToken: TOKEN, trigger: 'event', requestedAt: clock.now() },
    ]);
    expect(result.jobIds).toHaveLength(1);
    const job = await waitFor('job succeeded', async () => {
      const res = await request(testApp.url).get(`/api/v1/backfill/jobs/${result.jobIds[0]}`);
      return res.status === 200 && res.body.state === 'succeeded' ? res.body : undefined;
    });
    expect(job.trigger).toBe('event');

    const from = new Date('2026-11-19T03:45:00Z');
    const expected = stub.expected(TOKEN, from, clock.now());
    expect(expected.length).toBeGreaterThan(1400);
    expect(job.rows_written).toBe(expected.length);
    const rows = await testApp.database.query<{
      time: Date;
      open: number;
      close: number;
      volume: string;
      oi: string;
      iv: number;
    }>(`SELECT time, open, close, volume, oi, iv FROM candles_1m WHERE instrument_token = $1 ORDER BY time`, [
      TOKEN,
    ]);
    expect(rows.map((row) => new Date(row.time).toISOString())).toEqual(
      expected.map((candle) => parseUpstreamTime(candle.date).toISOString()),
    );
    expect(rows.map((row) => [row.open, row.close, Number(row.volume), Number(row.oi), row.iv])).toEqual(
      expected.map((candle) => [candle.open, candle.close, candle.volume, candle.oi, candle.iv]),
    );

    const api = await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ from: from.toISOString(), to: NOW, interval: '1m' })
      .expect(200);
    expect(api.body.instrument_token).toBe(TOKEN);
    expect(api.body.candles).toHaveLength(expected.length);
    expect(api.body.candles[0]).toEqual({
      time: parseUpstreamTime(expected[0].date).toISOString(),
      open: expected[0].open,
      high: expected[0].high,
      low: expected[0].low,
      close: expected[0].close,
      volume: expected[0].volume,
      oi: expected[0].oi,
      iv: expected[0].iv,
      delta: expected[0].delta,
      gamma: expected[0].gamma,
      theta: expected[0].theta,
      vega: expected[0].vega,
    });

    // 5-minute buckets start at 09:15 IST; volume sums, OI is the last of the bucket.
    const day = await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ from: '2026-11-25T03:45:00Z', to: '2026-11-25T10:00:00Z', interval: '5m' })
      .expect(200);
    const firstBucket = stub.expected(
      TOKEN,
      new Date('2026-11-25T03:45:00Z'),
      new Date('2026-11-25T03:50:00Z'),
    );
    expect(day.body.candles).toHaveLength(75);
    expect(day.body.candles[0]).toMatchObject({
      time: '2026-11-25T03:45:00.000Z',
      open: firstBucket[0].open,
      close: firstBucket[firstBucket.length - 1].close,
      high: Math.max(...firstBucket.map((c) => c.high)),
      low: Math.min(...firstBucket.map((c) => c.low)),
      volume: firstBucket.reduce((sum, c) => sum + c.volume, 0),
      oi: firstBucket[firstBucket.length - 1].oi,
    });
    const daily = await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ from: '2026-11-18T18:30:00Z', to: NOW, interval: '1d' })
      .expect(200);
    expect(daily.body.candles.map((c: { time: string }) => c.time)).toEqual([
      '2026-11-18T18:30:00.000Z',
      '2026-11-19T18:30:00.000Z',
      '2026-11-22T18:30:00.000Z',
      '2026-11-24T18:30:00.000Z',
      '2026-11-25T18:30:00.000Z',
    ]);

    const coverage = await request(testApp.url).get(`/api/v1/instruments/${TOKEN}/coverage`).expect(200);
    expect(coverage.body.covered).toEqual([{ from: from.toISOString(), to: NOW, candles: expected.length }]);
    // Only the minute forming now is still open.
    expect(coverage.body.gaps).toEqual([{ from: NOW, to: '2026-11-26T05:31:00.000Z', minutes: 1 }]);
    expect(coverage.body.unsupported).toBeNull();

    const metrics = await request(testApp.url).get('/metrics').expect(200);
    expect(metrics.text).toContain('backfill_triggers_total{trigger="event",outcome="succeeded"} 1');
    expect(metrics.text).toContain('backfill_time_to_data_seconds_count 1');
    expect(metrics.text).toContain(`backfill_candles_written_total ${expected.length}`);
  });

  it('documents every backfill and candles route in the OpenAPI document', async () => {
    const doc = await request(testApp.url).get('/docs-json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/backfill',
        '/api/v1/backfill/jobs',
        '/api/v1/backfill/jobs/{id}',
        '/api/v1/instruments/{token}/coverage',
        '/api/v1/instruments/{token}/candles',
      ]),
    );
    expect(Object.keys(doc.body.components.schemas.BackfillJobDto.properties)).toContain('time_to_data_ms');
    expect(doc.body.components.schemas.CandlesResponseDto.properties.instrument_token).toBeDefined();
  });

  it('answers bad parameters with 400 and guards the manual route with the API key', async () => {
    await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ interval: '2m' })
      .expect(400);
    await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ from: NOW, to: '2026-11-20T00:00:00Z' })
      .expect(400);
    await request(testApp.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ from: '2025-01-01T00:00:00Z', to: NOW, interval: '1m' })
      .expect(400);
    await request(testApp.url).get(`/api/v1/instruments/abc/candles`).expect(400);
    await request(testApp.url).post('/api/v1/backfill').send({ instrument_token: TOKEN }).expect(401);
    const bad = await request(testApp.url)
      .post('/api/v1/backfill')
      .set('X-API-Key', 'secret-key-1')
      .send({ instrument_token: TOKEN, from: '2026-11-25T05:00:00Z', to: '2026-11-25T04:00:00Z' })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('to');
    const accepted = await request(testApp.url)
      .post('/api/v1/backfill')
      .set('X-API-Key', 'secret-key-1')
      .send({ instrument_token: 777, from: '2026-11-25T03:45:00Z', to: '2026-11-25T04:45:00Z' })
      .expect(202);
    expect(accepted.body.job_id).toMatch(/^bf-777-/);
    await waitFor('manual job done', async () => {
      const res = await request(testApp.url).get(`/api/v1/backfill/jobs/${accepted.body.job_id}`);
      return res.body.state === 'succeeded';
    });
    const list = await request(testApp.url)
      .get('/api/v1/backfill/jobs')
      .query({ instrument_token: 777, trigger: 'manual', state: 'succeeded' })
      .expect(200);
    expect(list.body.total).toBe(1);
    expect(list.body.jobs[0].rows_written).toBe(
      stub.expected(777, new Date('2026-11-25T03:45:00Z'), new Date('2026-11-25T04:45:00Z')).length,
    );
    await request(testApp.url).get('/api/v1/backfill/jobs').query({ state: 'nope' }).expect(400);
  });

  it('refuses a manual window further back than BACKFILL_MAX_DAYS_BACK (400 days), naming from, and writes nothing for it', async () => {
    const post = (body: object) =>
      request(testApp.url).post('/api/v1/backfill').set('X-API-Key', 'secret-key-1').send(body);
    const daysBack = (days: number): string =>
      new Date(clock.now().getTime() - days * 86_400_000).toISOString();
    const token = 778;
    for (const body of [
      { instrument_token: token, from: '1970-01-01T03:45:00Z', to: '1970-01-02T00:00:00Z' },
      { instrument_token: token, from: '1970-01-01T03:45:00Z' },
      { instrument_token: token, from: daysBack(400.01), to: daysBack(399) },
    ]) {
      const refused = await post(body).expect(400);
      expect(refused.body.errors).toEqual([
        { field: 'from', message: 'must be at most 400 days back (BACKFILL_MAX_DAYS_BACK)' },
      ]);
    }
    const [{ jobs, candles }] = await testApp.database.query<{ jobs: number; candles: number }>(
      `SELECT (SELECT count(*)::int FROM backfill_jobs WHERE instrument_token = $1) AS jobs,
              (SELECT count(*)::int FROM candles_1m WHERE instrument_token = $1) AS candles`,
      [token],
    );
    expect({ jobs, candles }).toEqual({ jobs: 0, candles: 0 });
    // Within the bound: accepted.
    const accepted = await post({ instrument_token: token, from: daysBack(399), to: daysBack(398) }).expect(
      202,
    );
    expect(accepted.body.job_ids.length).toBeGreaterThan(0);

    const near = await startTestApp({
      clock,
      env: { API_KEY: 'secret-key-1', BACKFILL_MAX_DAYS_BACK: '30' },
    });
    try {
      const refused = await request(near.url)
        .post('/api/v1/backfill')
        .set('X-API-Key', 'secret-key-1')
        .send({ instrument_token: token, from: daysBack(31) })
        .expect(400);
      expect(refused.body.errors).toEqual([
        { field: 'from', message: 'must be at most 30 days back (BACKFILL_MAX_DAYS_BACK)' },
      ]);
      await request(near.url)
        .post('/api/v1/backfill')
        .set('X-API-Key', 'secret-key-1')
        .send({ instrument_token: token, from: daysBack(29) })
        .expect(202);
      const flags = await request(near.url).get('/api/v1/config/flags').expect(200);
      expect(flags.body.settings.backfill_max_days_back).toBe(30);
    } finally {
      await near.close();
    }
  });
});
