import { DataSource, MigrationExecutor, QueryRunner } from 'typeorm';
import { DatabaseConfig } from './database.config';
import { CHAIN_AGGREGATES } from './chain-aggregates';
import {
  applyCompressionPolicy,
  existingContinuousAggregates,
  hasTimescalePart,
  isHypertable,
  planStorage,
  probeTimescale,
  StorageModeError,
} from './timescaledb';

// Any key works; it only has to be the same for every replica and for `npm run migration:run`.
export const MIGRATION_LOCK_KEY = 7_231_001;
const HYPERTABLE = 'candles_1m';
const AGGREGATES = CHAIN_AGGREGATES.map(({ suffix }) => `fo_candles_${suffix}`);

export type SchemaSettings = Pick<DatabaseConfig, 'DB_TIMESCALEDB' | 'DB_COMPRESS_AFTER_DAYS'>;

export interface StorageMode {
  timescaledb: boolean;
  version?: string;
  /** Continuous aggregates of candles_1m present in the database (TimescaleDB only). */
  aggregates: string[];
  /** Why the tables are plain. */
  reason?: string;
}

export interface SchemaOutcome {
  /** Migrations applied by this run. */
  applied: string[];
  mode: StorageMode;
  /** What this run changed beyond the migrations, one line each. */
  actions: string[];
  /** Lines to log as warnings (at most one per cause). */
  warnings: string[];
}

/**
 * Brings the schema and the storage mode in line with the settings, under an advisory lock so that
 * replicas booting together (and `npm run migration:run`) do it once: installs TimescaleDB where
 * DB_TIMESCALEDB allows and the server can load it, applies pending migrations, converts a
 * database first migrated on plain PostgreSQL (hypertable with its rows, then every migration's
 * TimescaleDB part), and sets the compression policy to DB_COMPRESS_AFTER_DAYS. Cheap and
 * idempotent when nothing is to do. With `migrate: false` nothing is changed: the mode is read and
 * anything pending is reported. Throws StorageModeError where the service cannot run as configured.
 */
export async function prepareSchema(
  dataSource: DataSource,
  settings: SchemaSettings,
  { migrate }: { migrate: boolean },
): Promise<SchemaOutcome> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  let locked = false;
  try {
    if (migrate) {
      // Schema changes (a hypertable conversion copies every row) are not bound by a query timeout.
      await runner.query('SET statement_timeout = 0');
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      locked = true;
    }
    const plan = planStorage(settings.DB_TIMESCALEDB, await probeTimescale(runner), migrate);
    const actions: string[] = [];
    const warnings = plan.warning ? [plan.warning] : [];
    if (plan.kind === 'timescaledb' && plan.install) {
      await runner.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
      actions.push('installed the timescaledb extension');
    }
    const applied = migrate ? await applyMigrations(dataSource, runner) : [];
    const probe = await probeTimescale(runner);
    if (probe.installed === null) {
      const reason = plan.kind === 'plain' ? plan.reason : 'TimescaleDB extension not installed';
      return { applied, actions, warnings, mode: { timescaledb: false, aggregates: [], reason } };
    }

    let hypertable = await isHypertable(runner, HYPERTABLE);
    // With off, the plan has said once why nothing is converted.
    if (!hypertable && settings.DB_TIMESCALEDB !== 'off') {
      const fix = 'run `npm run migration:run` (or boot once with DB_MIGRATE_ON_BOOT=true) to convert it';
      if (migrate) {
        actions.push(...(await convertToTimescale(dataSource, runner)));
        hypertable = true;
      } else if (settings.DB_TIMESCALEDB === 'require') {
        throw new StorageModeError(
          `DB_TIMESCALEDB=require, but ${HYPERTABLE} is not a hypertable yet: ${fix}`,
        );
      } else {
        warnings.push(`TimescaleDB is installed but ${HYPERTABLE} is still a plain table: ${fix}`);
      }
    }
    if (migrate && hypertable) {
      const policy = await applyCompressionPolicy(runner, HYPERTABLE, settings.DB_COMPRESS_AFTER_DAYS);
      if (policy !== 'unchanged')
        actions.push(
          `compression policy ${policy}: chunks older than ${settings.DB_COMPRESS_AFTER_DAYS} days`,
        );
    }
    const aggregates = await existingContinuousAggregates(runner, AGGREGATES);
    return { applied, actions, warnings, mode: { timescaledb: true, version: probe.installed, aggregates } };
  } finally {
    if (locked)
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    if (migrate) await runner.query('RESET statement_timeout').catch(() => undefined);
    await runner.release();
  }
}

/**
 * Pending migrations, all in one transaction, on the connection that holds the lock. One, not one
 * each: TimescaleDB's background workers start a job (a continuous aggregate's refresh policy) as
 * soon as the transaction that created it commits, so on a first boot a policy committed by one
 * migration could be running while a later one drops its aggregate to replace it ("tuple
 * concurrently deleted", or a deadlock). In one transaction no job created by the boot is visible
 * to the scheduler before every migration has run, and a failed upgrade leaves the schema as it was.
 */
async function applyMigrations(dataSource: DataSource, runner: QueryRunner): Promise<string[]> {
  const executor = new MigrationExecutor(dataSource, runner);
  executor.transaction = 'all';
  const applied = await executor.executePendingMigrations();
  return applied.map((migration) => migration.name);
}

/**
 * The TimescaleDB parts of every migration, in order, in one transaction: a database migrated on
 * plain PostgreSQL ends up as if it had been migrated with TimescaleDB from the start, rows kept
 * (`create_hypertable(..., migrate_data => TRUE)`). All or nothing, so a hypertable means done.
 */
async function convertToTimescale(dataSource: DataSource, runner: QueryRunner): Promise<string[]> {
  const migrations = dataSource.migrations
    .filter(hasTimescalePart)
    .sort((a, b) => timestampOf(a.name) - timestampOf(b.name));
  await runner.startTransaction();
  try {
    for (const migration of migrations) await migration.upTimescale(runner);
    await runner.commitTransaction();
  } catch (error) {
    await runner.rollbackTransaction();
    throw error;
  }
  return [`converted to TimescaleDB: ${migrations.map((m) => m.name).join(', ')}`];
}

/** TypeORM orders migrations by the timestamp that ends their name. */
function timestampOf(name: string | undefined): number {
  return Number(/(\d{13})$/.exec(name ?? '')?.[1] ?? 0);
}
