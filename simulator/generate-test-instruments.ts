// Writes TEST_INSTRUMENTS.json at the repository root from the simulator's default universe.
//   npx ts-node simulator/generate-test-instruments.ts           # rewrite the file
//   npx ts-node simulator/generate-test-instruments.ts --check   # exit 1 when the file is stale
// The seed and reference date are the simulator defaults (MARKET_DEFAULTS), recorded in the file.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMarket } from './market';
import { buildTestInstruments } from './test-instruments';

export const TEST_INSTRUMENTS_PATH = join(__dirname, '..', 'TEST_INSTRUMENTS.json');

export function renderTestInstruments(): string {
  return `${JSON.stringify(buildTestInstruments(createMarket()), null, 2)}\n`;
}

function main(): void {
  const rendered = renderTestInstruments();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(TEST_INSTRUMENTS_PATH, 'utf8');
    } catch {
      // A missing file is stale.
    }
    if (current !== rendered) {
      console.error(
        `${TEST_INSTRUMENTS_PATH} is stale: run npx ts-node simulator/generate-test-instruments.ts`,
      );
      process.exit(1);
    }
    console.log(`${TEST_INSTRUMENTS_PATH} is current`);
    return;
  }
  writeFileSync(TEST_INSTRUMENTS_PATH, rendered);
  const count = (JSON.parse(rendered) as { instruments: unknown[] }).instruments.length;
  console.log(`wrote ${count} instruments to ${TEST_INSTRUMENTS_PATH}`);
}

if (require.main === module) main();
