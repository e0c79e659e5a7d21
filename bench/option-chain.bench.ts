import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { FixedClock, MarketCalendar } from '../src/contracts/market-time';
import { dataSourceOptions, runMigrations } from '../src/database/data-source';
import { OptionChainRepository } from '../src/market-data/option-chain.repository';
import { OptionChainService } from '../src/market-data/option-chain.service';
import { createTestDatabase } from '../test/support/database';
import { percentile, report } from './support/limits';

// The option chain endpoint's reads (latest minute, strike rows, metrics with max pain) for one
// minute of one expiry, over 3 expiries x 100 strikes x CE/PE x 375 minutes, a third of the legs
// illiquid (no candle in half their minutes, so their OI comes from the look-back). Beside it, in the
// same run: the bare primary-key read of the same legs' candles of that minute, the least any chain
// query must do. Plain PostgreSQL by default; TEST_PG_ADMIN_URL points it at TimescaleDB.

const EXPIRIES = ['2025-11-04', '2025-11-11', '2025-11-25'];
const STRIKES = Number(process.env.BENCH_STRIKES ?? 100);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const SESSION = new MarketCalendar([]).sessionOf('2025-11-03');

async function timed(samples: number, work: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = process.hrtime.bigint();
    await work(i);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const db = await createTestDatabase('mds_bench');
  const client = new Client({ connectionString: db.url });
  let dataSource: DataSource | undefined;
  try {
    await runMigrations({ DATABASE_URL: db.url, DB_POOL_SIZE: 1 });
    await client.connect();
    // Tokens: expiry e, strike s, CE/PE -> 1 + e * 1000 + s * 2 + (PE ? 1 : 0).
    await client.query(
      `INSERT INTO instruments (instrument_token, name, instrument_type, strike, expiry)
       SELECT 1 + e * 1000 + s * 2 + k, 'NIFTY', CASE k WHEN 0 THEN 'CE' ELSE 'PE' END,
              20000 + s * 50, ($1::date[])[e + 1]
         FROM generate_series(0, $2::int - 1) AS e, generate_series(0, $3::int - 1) AS s, generate_series(0, 1) AS k`,
      [EXPIRIES, EXPIRIES.length, STRIKES],
    );
    // Every third strike is illiquid: a candle in every other minute only.
    await client.query(
      `INSERT INTO candles_1m (instrument_token, time, open, high, low, close, volume, oi, iv, underlying_close, source)
       SELECT i.instrument_token, m, 100, 101, 99, 100.5, 75, 100000 + i.instrument_token, 0.15, 24500, 'history'
         FROM instruments i,
              generate_series($1::timestamptz, $2::timestamptz - interval '1 minute', interval '1 minute') AS m
        WHERE (i.instrument_token / 2) % 3 <> 0 OR (extract(epoch FROM m)::bigint / 60) % 2 = 0`,
      [SESSION.open, SESSION.close],
    );
    await client.query('VACUUM ANALYZE');
    const [{ candles }] = (
      await client.query<{ candles: string }>('SELECT count(*) AS candles FROM candles_1m')
    ).rows;

    dataSource = await new DataSource(
      dataSourceOptions({ DATABASE_URL: db.url, DB_POOL_SIZE: 2 }),
    ).initialize();
    const chains = new OptionChainService(
      new OptionChainRepository(dataSource),
      new FixedClock(SESSION.close),
    );
    // Minutes spread over the session, odd ones included (illiquid legs from the look-back there).
    const minuteAt = (i: number): Date =>
      new Date(SESSION.open.getTime() + ((i * 37) % 375) * 60_000 + 30_000);
    const expiry = EXPIRIES[1];
    const first = await chains.chain('NIFTY', expiry, minuteAt(1).toISOString());
    const legs = first.strikes.flatMap((s) => [s.call, s.put]).filter((leg) => leg !== null);
    if (first.strikes.length !== STRIKES || legs.length !== 2 * STRIKES)
      throw new Error(`chain incomplete: ${first.strikes.length} strikes, ${legs.length} legs`);

    // The endpoint's two chain queries: inlined (no opaque Function Scan) and on the index only.
    let fullScan = false;
    for (const fn of ['fo_option_strike_bars_at', 'fo_expiry_metrics_at']) {
      const plan = (
        await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT * FROM ${fn}('NIFTY', $1, $2)`, [
          expiry,
          new Date(SESSION.open.getTime() + 61 * 60_000),
        ])
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      if (/Seq Scan on (candles_1m|_hyper_)|Function Scan/.test(plan)) {
        fullScan = true;
        process.stdout.write(`${fn}:\n${plan}\n`);
      }
    }
    const chainTimes = await timed(SAMPLES, (i) => chains.chain('NIFTY', expiry, minuteAt(i).toISOString()));
    const tokens = (
      await client.query<{ t: string }>(
        `SELECT instrument_token AS t FROM instruments WHERE expiry = $1 ORDER BY 1`,
        [expiry],
      )
    ).rows.map((r) => Number(r.t));
    const bareTimes = await timed(SAMPLES, (i) =>
      client.query(`SELECT * FROM candles_1m WHERE instrument_token = ANY($1) AND time = $2`, [
        tokens,
        new Date(minuteAt(i).getTime() - 30_000),
      ]),
    );

    const timescale = (await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`))
      .rowCount;
    process.stdout.write(
      `${timescale ? 'TimescaleDB' : 'plain PostgreSQL'}: ${candles} candles, ${EXPIRIES.length} expiries x ${STRIKES} strikes x CE/PE; ` +
        `plans of the chain queries: ${fullScan ? 'NOT index-only (printed above)' : 'index scans of candles_1m only'}\n`,
    );
    for (const p of [50, 99]) {
      const limit = {
        value: percentile(bareTimes, p),
        unit: 'ms',
        label: `bare PK read of the ${tokens.length} legs`,
      };
      process.stdout.write(
        `${report(`chain of one minute (3 queries), p${p}`, percentile(chainTimes, p), 'ms', limit)}\n`,
      );
    }
  } finally {
    await dataSource?.destroy();
    await client.end().catch(() => undefined);
    await db.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
