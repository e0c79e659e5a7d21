import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

// `npm run bench` runs every bench/*.bench.ts in turn; `npm run bench -- ticks` runs the ones whose
// name contains "ticks". Each benchmark prints its figures beside the limit measured in the same run.
const filter = process.argv[2];
const files = readdirSync(__dirname)
  .filter((file) => file.endsWith('.bench.ts') && (!filter || file.includes(filter)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no benchmark matches ${filter ?? '(any)'}\n`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const result = spawnSync(process.execPath, ['-r', 'ts-node/register', join(__dirname, file)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
