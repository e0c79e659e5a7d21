import { ConfigValidationError, loadConfig } from '../config/config.loader';
import { runMigrations } from './data-source';

// `npm run migration:run`: applies pending migrations to DATABASE_URL, read like the service reads it.
async function main(): Promise<void> {
  const config = loadConfig();
  const applied = await runMigrations(config);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigValidationError ? error.message : String((error as Error).stack ?? error)}\n`,
  );
  process.exit(1);
});
