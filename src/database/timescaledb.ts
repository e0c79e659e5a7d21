import { MigrationInterface, QueryRunner } from 'typeorm';
import { TimescaleDbSetting } from './database.config';

type Queryable = Pick<QueryRunner, 'query'>;

/** What the server and this database offer. */
export interface TimescaleProbe {
  /** Version the server's packages provide (`pg_available_extensions`), if any. */
  available: string | null;
  /** Version installed in this database (`pg_extension`), if any. */
  installed: string | null;
  /** Whether the server preloads the timescaledb library (`shared_preload_libraries`). */
  preloaded: boolean;
}

/**
 * `timescaledb.bgw_launcher_poll_time` is defined only by the TimescaleDB loader, and the loader
 * runs only from `shared_preload_libraries`; placeholders set by hand never appear in pg_settings.
 * Unlike `shared_preload_libraries` itself, it is visible to any role. Trying `CREATE EXTENSION`
 * instead is no probe: without the preload it ends the session (FATAL).
 */
const PROBE = `
  SELECT (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
         (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed,
         EXISTS (SELECT 1 FROM pg_settings WHERE name = 'timescaledb.bgw_launcher_poll_time') AS preloaded`;

export async function probeTimescale(q: Queryable): Promise<TimescaleProbe> {
  const [row]: { available: string | null; installed: string | null; preloaded: boolean }[] =
    await q.query(PROBE);
  return { available: row.available, installed: row.installed, preloaded: row.preloaded };
}

/** The boot refuses to go on, with one line saying what to change (no stack trace). */
export class StorageModeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StorageModeError';
  }
}

const PRELOAD_FIX = "add 'timescaledb' to shared_preload_libraries in postgresql.conf and restart PostgreSQL";

export type StoragePlan =
  | { kind: 'timescaledb'; install: boolean; warning?: string }
  | { kind: 'plain'; warning?: string; reason: string };

/**
 * What to do with the database, from DB_TIMESCALEDB and what the server offers. `migrate` says
 * whether this run may change the schema (migrations at boot, or `npm run migration:run`).
 * Throws StorageModeError where the service cannot run as configured.
 */
export function planStorage(
  setting: TimescaleDbSetting,
  probe: TimescaleProbe,
  migrate: boolean,
): StoragePlan {
  if (probe.installed !== null) {
    // candles_1m is (or is about to become) a hypertable: its inserts need the library.
    if (!probe.preloaded)
      throw new StorageModeError(
        `this database has the timescaledb extension ${probe.installed} installed but the server does not preload it: ${PRELOAD_FIX}`,
      );
    return setting === 'off'
      ? {
          kind: 'timescaledb',
          install: false,
          warning: `DB_TIMESCALEDB=off, but this database already has the timescaledb extension ${probe.installed}: what is in TimescaleDB stays there, nothing more is converted`,
        }
      : { kind: 'timescaledb', install: false };
  }
  if (setting === 'off') return { kind: 'plain', reason: 'DB_TIMESCALEDB=off' };
  if (probe.available === null) {
    if (setting === 'require')
      throw new StorageModeError(
        'DB_TIMESCALEDB=require, but this PostgreSQL server has no timescaledb extension: install TimescaleDB for it, or set DB_TIMESCALEDB=auto to run on plain tables',
      );
    return { kind: 'plain', reason: 'TimescaleDB extension not installed on the server' };
  }
  if (!probe.preloaded) {
    if (setting === 'require')
      throw new StorageModeError(
        `DB_TIMESCALEDB=require, but the server does not preload TimescaleDB ${probe.available}: ${PRELOAD_FIX}`,
      );
    return {
      kind: 'plain',
      reason: 'TimescaleDB not preloaded',
      warning: `TimescaleDB ${probe.available} is installed on the server but not preloaded, so candles_1m stays a plain table: to use it, ${PRELOAD_FIX} (DB_TIMESCALEDB=off silences this warning)`,
    };
  }
  if (!migrate) {
    const fix =
      'run `npm run migration:run` (or boot once with DB_MIGRATE_ON_BOOT=true) to install it and convert candles_1m';
    if (setting === 'require')
      throw new StorageModeError(
        `DB_TIMESCALEDB=require, but TimescaleDB is not installed in this database yet: ${fix}`,
      );
    return {
      kind: 'plain',
      reason: 'TimescaleDB not installed in this database',
      warning: `TimescaleDB ${probe.available} is available but not installed in this database: ${fix}`,
    };
  }
  return { kind: 'timescaledb', install: true };
}

/**
 * A warning where compression would reach into the minutes the scheduled backfill re-fetches: an
 * upsert into a compressed chunk decompresses the instrument's batch even when nothing changed, so
 * every cycle would undo compression there until the policy redoes it.
 */
export function compressionLookbackWarning(config: {
  DB_COMPRESS_AFTER_DAYS: number;
  BACKFILL_LOOKBACK_SESSIONS: number;
}): string | undefined {
  // Five sessions a week, plus a week for holidays and the minutes of the current day.
  const lookbackDays = Math.ceil((config.BACKFILL_LOOKBACK_SESSIONS * 7) / 5) + 7;
  if (config.DB_COMPRESS_AFTER_DAYS >= lookbackDays) return undefined;
  return `DB_COMPRESS_AFTER_DAYS=${config.DB_COMPRESS_AFTER_DAYS} is within the ${config.BACKFILL_LOOKBACK_SESSIONS}-session backfill lookback (about ${lookbackDays} days): every scheduled re-fetch of its oldest minutes decompresses them again; set it to ${lookbackDays} or more`;
}

/**
 * A migration with statements for TimescaleDB only. Its `up` runs them where the extension is
 * installed; a database first migrated on plain PostgreSQL gets them replayed, in migration order,
 * when TimescaleDB arrives later (see `convertToTimescale`). They must be idempotent.
 */
export interface TimescaleMigration extends MigrationInterface {
  upTimescale(q: QueryRunner): Promise<void>;
}

export function hasTimescalePart(migration: MigrationInterface): migration is TimescaleMigration {
  return typeof (migration as Partial<TimescaleMigration>).upTimescale === 'function';
}

export async function timescaleInstalled(q: Queryable): Promise<boolean> {
  const rows: unknown[] = await q.query(`SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'`);
  return rows.length > 0;
}

/**
 * Whether a migration's TimescaleDB part applies now: the extension is there and `candles_1m` is a
 * hypertable. Where the extension arrived after the table was migrated plain (installed just before
 * pending migrations, say), those migrations do their plain part, and the conversion that follows
 * them (`convertToTimescale` in schema.ts) replays every TimescaleDB part in order: a continuous
 * aggregate cannot be created over a plain table.
 */
export async function timescaleInUse(q: Queryable): Promise<boolean> {
  return (await timescaleInstalled(q)) && (await isHypertable(q, 'candles_1m'));
}

export async function isHypertable(q: Queryable, table: string): Promise<boolean> {
  const rows: unknown[] = await q.query(
    `SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = current_schema() AND hypertable_name = $1`,
    [table],
  );
  return rows.length > 0;
}

/** Names among `names` that exist as continuous aggregates in this database. */
export async function existingContinuousAggregates(
  q: Queryable,
  names: readonly string[],
): Promise<string[]> {
  const rows: { view_name: string }[] = await q.query(
    `SELECT view_name FROM timescaledb_information.continuous_aggregates
      WHERE view_schema = current_schema() AND view_name = ANY($1::text[]) ORDER BY view_name`,
    [names],
  );
  return rows.map((row) => row.view_name);
}

/**
 * Makes the compression policy of `table` compress chunks older than `days` days: added where
 * missing, replaced where it says otherwise. Returns what it did.
 */
export async function applyCompressionPolicy(
  q: QueryRunner,
  table: string,
  days: number,
): Promise<'unchanged' | 'added' | 'changed'> {
  const rows: { same: boolean }[] = await q.query(
    `SELECT (config->>'compress_after')::interval = make_interval(days => $2) AS same
       FROM timescaledb_information.jobs
      WHERE proc_name = 'policy_compression' AND hypertable_schema = current_schema() AND hypertable_name = $1`,
    [table, days],
  );
  if (rows.length === 1 && rows[0].same) return 'unchanged';
  await q.startTransaction();
  try {
    await q.query(`SELECT remove_compression_policy($1::regclass, if_exists => TRUE)`, [table]);
    await q.query(`SELECT add_compression_policy($1::regclass, make_interval(days => $2))`, [table, days]);
    await q.commitTransaction();
  } catch (error) {
    await q.rollbackTransaction();
    throw error;
  }
  return rows.length === 0 ? 'added' : 'changed';
}
