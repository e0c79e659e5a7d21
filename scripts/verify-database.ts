import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadAppConfig } from '../src/app.settings';

// Runs TEST_QUERIES.sql against a database: every "check" block must return no rows, every "report"
// block is printed. `npm run verify:db -- <database url>` (DATABASE_URL of the configuration otherwise).

export interface Block {
  kind: 'check' | 'report';
  name: string;
  sql: string;
}

export interface BlockResult extends Block {
  rows: Record<string, unknown>[];
  healthy: boolean;
}

const MARKER = /^-- (check|report): (\S+)\s*$/;

export function parseBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (const line of text.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) {
      current = { kind: marker[1] as Block['kind'], name: marker[2], sql: '' };
      blocks.push(current);
    } else if (current && !line.startsWith('--')) {
      current.sql += `${line}\n`;
    }
  }
  for (const block of blocks) block.sql = block.sql.trim().replace(/;$/, '');
  return blocks;
}

export async function verifyDatabase(
  databaseUrl: string,
  sqlText = readFileSync(join(__dirname, '..', 'TEST_QUERIES.sql'), 'utf8'),
): Promise<BlockResult[]> {
  const client = new Client({ connectionString: databaseUrl, options: '-c timezone=UTC' });
  await client.connect();
  try {
    const results: BlockResult[] = [];
    for (const block of parseBlocks(sqlText)) {
      const { rows } = await client.query(block.sql);
      results.push({ ...block, rows, healthy: block.kind === 'report' || rows.length === 0 });
    }
    return results;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.argv[2] ?? (await loadAppConfig()).config.DATABASE_URL;
  const results = await verifyDatabase(databaseUrl);
  for (const result of results) {
    const status = result.kind === 'report' ? 'report' : result.healthy ? 'ok' : 'UNHEALTHY';
    process.stdout.write(`${status.padEnd(9)} ${result.name} (${result.rows.length} rows)\n`);
    if (result.rows.length > 0 && (result.kind === 'report' || !result.healthy))
      console.table(result.rows.slice(0, 20));
  }
  const unhealthy = results.filter((r) => !r.healthy);
  if (unhealthy.length > 0) {
    process.stderr.write(`unhealthy: ${unhealthy.map((r) => r.name).join(', ')}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
