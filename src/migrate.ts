import { loadAppConfig } from './app.settings';
import { ConfigValidationError } from './config/config.loader';
import { migrateSchema } from './database/data-source';
import { StorageModeError } from './database/timescaledb';

// `npm run migration:run`: applies pending migrations to DATABASE_URL, read like the service reads it,
// then the storage mode of DB_TIMESCALEDB: installs TimescaleDB where allowed, converts a database
// first migrated on plain PostgreSQL, sets the compression policy. Safe to run any number of times.
async function main(): Promise<void> {
  const { config } = await loadAppConfig();
  const outcome = await migrateSchema(config);
  const lines = [
    outcome.applied.length ? `applied: ${outcome.applied.join(', ')}` : 'schema is up to date',
    ...outcome.actions,
    ...outcome.warnings.map((warning) => `warning: ${warning}`),
    outcome.mode.timescaledb
      ? `storage mode: TimescaleDB ${outcome.mode.version}`
      : `storage mode: plain PostgreSQL (${outcome.mode.reason ?? 'no TimescaleDB'})`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  const oneLine = error instanceof ConfigValidationError || error instanceof StorageModeError;
  process.stderr.write(`${oneLine ? (error as Error).message : String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
