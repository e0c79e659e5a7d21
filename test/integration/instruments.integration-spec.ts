import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/app.settings';
import {
  DEFAULT_NSE_HOLIDAYS,
  DEFAULT_NSE_SPECIAL_SESSIONS,
  FixedClock,
  MarketCalendar,
} from '../../src/contracts/market-time';
import { dataSourceOptions, runMigrations } from '../../src/database/data-source';
import { INSTRUMENT_LIST_COLUMNS } from '../../src/market-data/instrument-list';
import { InstrumentListService } from '../../src/market-data/instrument-list.service';
import { InstrumentsRepository } from '../../src/market-data/instruments.repository';
import { InstrumentsService } from '../../src/market-data/instruments.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { createTestDatabase, TestDatabase } from '../support/database';

const WEEKLY = 13660418; // NIFTY25N0424600CE
const MONTHLY = 13660674; // NIFTY25NOV24750PE
const FUTURE = 13660930; // NIFTY25NOVFUT
const LEGACY = 13661186;

/** A list in Kite's format: the weekly and the future with their lots and ticks. */
const LIST = [
  INSTRUMENT_LIST_COLUMNS.join(','),
  `${WEEKLY},53362,NIFTY25N0424600CE,"NIFTY",0,2025-11-04,24600,0.05,75,CE,NFO-OPT,NFO`,
  `${FUTURE},53363,NIFTY25NOVFUT,"NIFTY",0,2025-11-25,0,0.1,75,FUT,NFO-FUT,NFO`,
  '',
].join('\n');

describe('instruments described before their first tick, each field from its strongest source', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let server: Server;
  let metrics: MetricsService;
  let list: InstrumentListService;
  let instruments: InstrumentsService;
  let repository: InstrumentsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    dataSource = await new DataSource(
      dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 2 }),
    ).initialize();
    server = createServer((req, res) => {
      if (req.url !== '/instruments/NFO') {
        res.writeHead(404).end('{"detail":"Not Found"}');
        return;
      }
      res.setHeader('content-type', 'text/csv');
      res.end(LIST);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = Object.assign(new AppConfig(), {
      INSTRUMENT_LIST_SOURCE: 'ticker',
      TICKER_SERVICE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    metrics = new MetricsService();
    repository = new InstrumentsRepository(dataSource);
    list = new InstrumentListService(config, metrics, new FixedClock('2025-11-03T03:00:00Z'), new SchedulerRegistry());
    instruments = new InstrumentsService(
      repository,
      list,
      new MarketCalendar(DEFAULT_NSE_HOLIDAYS, DEFAULT_NSE_SPECIAL_SESSIONS),
      metrics,
    );
    instruments.onModuleInit();
  });

  afterAll(async () => {
    list?.onApplicationShutdown();
    await new Promise((resolve) => server?.close(resolve));
    await dataSource?.destroy();
    await db?.drop();
  });

  const disagreements = async (field: string, source: string): Promise<number> =>
    (await metrics.instrumentTickDisagreements.get()).values.find(
      (v) => v.labels.field === field && v.labels.source === source,
    )?.value ?? 0;

  it('completes an event from the tradingsymbol alone: monthly expiry from the calendar, the NFO tick', async () => {
    await instruments.record(
      [
        { instrumentToken: WEEKLY, tradingsymbol: 'NIFTY25N0424600CE', segment: 'NFO-OPT' },
        { instrumentToken: MONTHLY, tradingsymbol: 'NIFTY25NOV24750PE', segment: 'NFO-OPT' },
      ],
      'ticker',
    );
    expect(await repository.findByToken(WEEKLY)).toEqual({
      instrument_token: String(WEEKLY),
      tradingsymbol: 'NIFTY25N0424600CE',
      name: 'NIFTY',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrument_type: 'CE',
      strike: 24600,
      expiry: '2025-11-04',
      lot_size: null,
      tick_size: 0.05,
    });
    expect(await repository.findByToken(MONTHLY)).toMatchObject({
      name: 'NIFTY',
      instrument_type: 'PE',
      strike: 24750,
      expiry: '2025-11-25',
      tick_size: 0.05,
    });
  });

  it('applies the list, once read, to the instruments already known, and to the next ones at once', async () => {
    expect(await list.refresh()).toBe(true);
    expect(list.size).toBe(2);
    // The weekly was known: the list gives it its lot. The future was not: nothing is inserted.
    expect(await repository.findByToken(WEEKLY)).toMatchObject({ lot_size: 75, tick_size: 0.05 });
    expect(await repository.findByToken(FUTURE)).toBeUndefined();
    await instruments.record(
      [{ instrumentToken: FUTURE, tradingsymbol: 'NIFTY25NOVFUT', segment: 'NFO-FUT' }],
      'ticker',
    );
    // The list's tick (0.1) is stronger than the segment's 0.05.
    expect(await repository.findByToken(FUTURE)).toMatchObject({
      instrument_type: 'FUT',
      expiry: '2025-11-25',
      lot_size: 75,
      tick_size: 0.1,
    });
    // A manual backfill names a token only: the list describes it.
    await dataSource.query('DELETE FROM instruments WHERE instrument_token = $1', [FUTURE]);
    expect(await instruments.recordListed([FUTURE, 999])).toBe(1);
    expect(await repository.findByToken(FUTURE)).toMatchObject({
      tradingsymbol: 'NIFTY25NOVFUT',
      lot_size: 75,
    });
  });

  it("keeps a tick's fields over the list's and the symbol's, counts each disagreement, and keeps them after", async () => {
    const beforeLot = await disagreements('lot_size', 'instrument_list');
    const beforeExpiry = await disagreements('expiry', 'tradingsymbol');
    const tick = {
      instrumentToken: WEEKLY,
      tradingsymbol: 'NIFTY25N0424600CE',
      name: 'NIFTY',
      segment: 'NFO-OPT',
      exchange: 'NFO',
      instrumentType: 'CE',
      strike: 24600,
      expiry: '2025-11-03',
      lotSize: 65,
      tickSize: 0.05,
    };
    await instruments.write([instruments.describe(tick, 'tick')]);
    expect(await repository.findByToken(WEEKLY)).toMatchObject({ expiry: '2025-11-03', lot_size: 65 });
    expect(await disagreements('lot_size', 'instrument_list')).toBe(beforeLot + 1);
    expect(await disagreements('expiry', 'tradingsymbol')).toBe(beforeExpiry + 1);
    expect(await disagreements('expiry', 'instrument_list')).toBe(1);
    expect(await disagreements('strike', 'tradingsymbol')).toBe(0);

    // A later event, the next day's list and a reconciliation never undo the tick's fields.
    await instruments.record(
      [{ instrumentToken: WEEKLY, tradingsymbol: 'NIFTY25N0424600CE', segment: 'NFO-OPT' }],
      'ticker',
    );
    expect(await list.refresh()).toBe(true);
    expect(await repository.findByToken(WEEKLY)).toMatchObject({ expiry: '2025-11-03', lot_size: 65 });
    // The next tick may change them again.
    await instruments.write([instruments.describe({ ...tick, lotSize: 75 }, 'tick')]);
    expect(await repository.findByToken(WEEKLY)).toMatchObject({ lot_size: 75 });
  });

  it('lets any source complete a row written before sources were recorded, and never erases a field', async () => {
    await dataSource.query(
      `INSERT INTO instruments (instrument_token, tradingsymbol, segment, expiry, lot_size)
       VALUES ($1, 'NIFTY25NOV24800CE', 'NFO-OPT', '2025-11-20', 50)`,
      [LEGACY],
    );
    await instruments.record(
      [{ instrumentToken: LEGACY, tradingsymbol: 'NIFTY25NOV24800CE', segment: 'NFO-OPT' }],
      'ticker',
    );
    // A source that states less erases nothing.
    await instruments.record([{ instrumentToken: LEGACY, tradingsymbol: null, segment: null }], 'ticker');
    expect(await repository.findByToken(LEGACY)).toMatchObject({
      tradingsymbol: 'NIFTY25NOV24800CE',
      // The stored expiry had no source: the symbol's, derived with the calendar, replaces it.
      expiry: '2025-11-25',
      strike: 24800,
      lot_size: 50,
      tick_size: 0.05,
    });
  });

  it('writes nothing when nothing changes', async () => {
    const [before] = await dataSource.query<{ xmin: string }[]>(
      `SELECT xmin::text FROM instruments WHERE instrument_token = $1`,
      [MONTHLY],
    );
    await instruments.record(
      [{ instrumentToken: MONTHLY, tradingsymbol: 'NIFTY25NOV24750PE', segment: 'NFO-OPT' }],
      'ticker',
    );
    const [after] = await dataSource.query<{ xmin: string }[]>(
      `SELECT xmin::text FROM instruments WHERE instrument_token = $1`,
      [MONTHLY],
    );
    expect(after.xmin).toBe(before.xmin);
  });
});

describe("Kite's instrument list", () => {
  let server: Server;
  let base: string;
  const seen: { url?: string; version?: string; authorization?: string }[] = [];
  let status = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({
        url: req.url,
        version: req.headers['x-kite-version'] as string | undefined,
        authorization: req.headers.authorization,
      });
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          '{"status":"error","message":"Incorrect `api_key` or `access_token`.","error_type":"TokenException"}',
        );
        return;
      }
      res.setHeader('content-type', 'text/csv');
      res.end(LIST);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('is read with the credentials under auto, and a refused read keeps the previous list', async () => {
    const metrics = new MetricsService();
    const config = Object.assign(new AppConfig(), {
      KITE_BASE_URL: base,
      KITE_API_KEY: 'api-key',
      KITE_ACCESS_TOKEN: 'access-token',
    });
    const list = new InstrumentListService(config, metrics, new FixedClock('2025-11-03T03:00:00Z'), new SchedulerRegistry());
    try {
      expect(list.sourceInUse).toBe('kite');
      expect(await list.refresh()).toBe(true);
      expect(seen.pop()).toEqual({
        url: '/instruments/NFO',
        version: '3',
        authorization: 'token api-key:access-token',
      });
      expect(list.get(FUTURE)).toMatchObject({ tradingsymbol: 'NIFTY25NOVFUT', lotSize: 75, tickSize: 0.1 });

      status = 403;
      expect(await list.refresh()).toBe(false);
      expect(list.get(FUTURE)).toMatchObject({ lotSize: 75 });
      const refreshes = (await metrics.instrumentListRefreshes.get()).values;
      expect(refreshes.find((v) => v.labels.outcome === 'loaded')?.value).toBe(1);
      expect(refreshes.find((v) => v.labels.outcome === 'failed')?.value).toBe(1);
    } finally {
      list.onApplicationShutdown();
      status = 200;
    }
  });
});
