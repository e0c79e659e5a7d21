import request from 'supertest';
import { FixedClock, MINUTE_MS } from '../../src/contracts/market-time';
import { CandlesRepository } from '../../src/market-data/candles.repository';
import { Candle } from '../../src/market-data/market-data.types';
import { startTestApp, TestApp } from '../support/app-harness';

const TOKEN = 13660418;
// Monday 3 and Tuesday 4 November 2025; the clock stands at 10:00 IST on the Tuesday.
const MONDAY_OPEN = Date.parse('2025-11-03T03:45:00Z');
const TUESDAY_OPEN = Date.parse('2025-11-04T03:45:00Z');
const NOW = '2025-11-04T04:30:00.000Z';

interface ApiCandle {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  oi: number | null;
  iv?: number;
  delta?: number;
}

/** Minute `i` of the session opening at `open`: prices and volume that identify the minute. */
function minute(open: number, i: number, patch: Partial<Candle> = {}): Candle {
  return {
    instrumentToken: TOKEN,
    time: new Date(open + i * MINUTE_MS),
    open: 100 + i,
    high: 101 + i,
    low: 99 + i,
    close: 100.5 + i,
    volume: 10 + i,
    oi: 1000 + i,
    iv: 0.1 + i / 1000,
    delta: 0.5,
    gamma: 0.001,
    theta: -1,
    vega: 9,
    underlyingClose: 24_500 + i,
    ...patch,
  };
}

// Run on plain PostgreSQL and, with TEST_PG_ADMIN_URL on the TimescaleDB cluster, on time_bucket.
describe('candles API buckets (real PostgreSQL)', () => {
  const clock = new FixedClock(NOW);
  let app: TestApp;
  const monday = Array.from({ length: 375 }, (_, i) => minute(MONDAY_OPEN, i));
  const tuesday = Array.from({ length: 45 }, (_, i) => minute(TUESDAY_OPEN, i));

  beforeAll(async () => {
    app = await startTestApp({ clock });
    await app.app.get(CandlesRepository).upsertHistory([...monday, ...tuesday]);
  });
  afterAll(async () => app?.close());

  const candles = async (query: Record<string, string>): Promise<ApiCandle[]> =>
    (
      (await request(app.url).get(`/api/v1/instruments/${TOKEN}/candles`).query(query).expect(200)).body as {
        candles: ApiCandle[];
      }
    ).candles;

  /** The bucket of `minutes` as the API must give it. */
  const bucket = (minutes: Candle[]) => ({
    time: minutes[0].time.toISOString(),
    open: minutes[0].open,
    high: Math.max(...minutes.map((c) => c.high)),
    low: Math.min(...minutes.map((c) => c.low)),
    close: minutes[minutes.length - 1].close,
    volume: minutes.reduce((sum, c) => sum + c.volume, 0),
  });

  it('reads in the mode the database offers (time_bucket where TimescaleDB is installed)', async () => {
    const installed = await app.database.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
    const ready = await request(app.url).get('/health/ready').expect(200);
    expect(
      (ready.body as { details: { database: { timescaledb: boolean } } }).details.database.timescaledb,
    ).toBe(installed.length > 0);
  });

  it('aligns a from inside a bucket down to the bucket start and a to inside one up to its end', async () => {
    // 09:17 to 09:27 IST at 5m: the buckets 09:15, 09:20 and 09:25, each whole.
    const result = await candles({
      from: new Date(TUESDAY_OPEN + 2 * MINUTE_MS).toISOString(),
      to: new Date(TUESDAY_OPEN + 12 * MINUTE_MS).toISOString(),
      interval: '5m',
    });
    expect(
      result.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume })),
    ).toEqual([bucket(tuesday.slice(0, 5)), bucket(tuesday.slice(5, 10)), bucket(tuesday.slice(10, 15))]);
    // At 1m a from inside a minute keeps that minute.
    const minutes = await candles({
      from: new Date(TUESDAY_OPEN + 2 * MINUTE_MS + 30_000).toISOString(),
      to: new Date(TUESDAY_OPEN + 4 * MINUTE_MS + 30_000).toISOString(),
      interval: '1m',
    });
    expect(minutes.map((c) => c.time)).toEqual(
      [2, 3, 4].map((i) => new Date(TUESDAY_OPEN + i * MINUTE_MS).toISOString()),
    );
  });

  it('gives whole IST days at 1d without a from', async () => {
    const result = await candles({ interval: '1d' });
    expect(
      result.map(({ time, open, high, low, close, volume }) => ({ time, open, high, low, close, volume })),
    ).toEqual([
      { ...bucket(monday), time: '2025-11-02T18:30:00.000Z' },
      { ...bucket(tuesday), time: '2025-11-03T18:30:00.000Z' },
    ]);
  });

  it("carries the last known OI and greeks of a bucket, not the last minute's null", async () => {
    const repository = app.app.get(CandlesRepository);
    const token = TOKEN + 1;
    // Five minutes of one bucket: OI unknown in the last minute, iv in the last two.
    await repository.upsertHistory(
      Array.from({ length: 5 }, (_, i) =>
        minute(MONDAY_OPEN, i, {
          instrumentToken: token,
          oi: i === 4 ? null : 2000 + i,
          iv: i >= 3 ? null : 0.2 + i / 100,
        }),
      ),
    );
    for (const interval of ['5m', '15m', '1h', '1d']) {
      const [bar] = (
        (
          await request(app.url)
            .get(`/api/v1/instruments/${token}/candles`)
            .query({ from: new Date(MONDAY_OPEN).toISOString(), to: NOW, interval })
            .expect(200)
        ).body as { candles: ApiCandle[] }
      ).candles;
      expect({ interval, oi: bar.oi, iv: bar.iv, delta: bar.delta }).toEqual({
        interval,
        oi: 2003,
        iv: 0.22,
        delta: 0.5,
      });
    }
  });

  it("lists the calendar's sessions of the widened window when asked, and only then", async () => {
    const sessionsOf = async (query: Record<string, string>) =>
      (
        (await request(app.url).get(`/api/v1/instruments/${TOKEN}/candles`).query(query).expect(200))
          .body as { sessions?: { date: string; open: string; close: string }[] }
      ).sessions;
    // Friday 31 October to Thursday 6 November 2025: a weekend, and the 5th a holiday.
    const week = { from: '2025-10-31T00:00:00Z', to: '2025-11-06T12:00:00Z', interval: '1m' };
    expect(await sessionsOf(week)).toBeUndefined();
    expect(await sessionsOf({ ...week, sessions: 'false' })).toBeUndefined();
    expect(await sessionsOf({ ...week, sessions: 'true' })).toEqual(
      ['2025-10-31', '2025-11-03', '2025-11-04', '2025-11-06'].map((date) => ({
        date,
        open: `${date}T03:45:00.000Z`,
        close: `${date}T10:00:00.000Z`,
      })),
    );
    // A window inside a session widened to its 1d bucket (the IST day) lists that day's session;
    // Diwali 2025: a holiday with a Muhurat session of its own hours, then a holiday without one.
    expect(
      await sessionsOf({
        from: '2025-10-21T08:00:00Z',
        to: '2025-10-21T09:00:00Z',
        interval: '1d',
        sessions: 'true',
      }),
    ).toEqual([{ date: '2025-10-21', open: '2025-10-21T08:15:00.000Z', close: '2025-10-21T09:15:00.000Z' }]);
    expect(
      await sessionsOf({
        from: '2025-10-22T00:00:00Z',
        to: '2025-10-23T00:00:00Z',
        interval: '1h',
        sessions: 'true',
      }),
    ).toEqual([]);
    const refused = await request(app.url)
      .get(`/api/v1/instruments/${TOKEN}/candles`)
      .query({ ...week, sessions: 'yes' })
      .expect(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'sessions' })]);
  });

  it('says how buckets are cut in the OpenAPI document', async () => {
    const document = (await request(app.url).get('/docs-json').expect(200)).body as {
      paths: Record<string, { get: { parameters: { name: string; description?: string }[] } }>;
    };
    const parameters = document.paths['/api/v1/instruments/{token}/candles'].get.parameters;
    const described = (name: string): string => parameters.find((p) => p.name === name)?.description ?? '';
    expect(described('from')).toContain('Aligned down to the start of the bucket');
    expect(described('to')).toContain('Aligned up to the end of the bucket');
    expect(described('interval')).toContain('Every bucket is whole');
  });
});
