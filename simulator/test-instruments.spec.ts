import { readFileSync } from 'node:fs';
import { TEST_INSTRUMENTS_PATH, renderTestInstruments } from './generate-test-instruments';
import type { TestInstrumentsFile } from './test-instruments';

describe('TEST_INSTRUMENTS.json', () => {
  const rendered = renderTestInstruments();

  it('is current (regenerate with npx ts-node simulator/generate-test-instruments.ts)', () => {
    expect(readFileSync(TEST_INSTRUMENTS_PATH, 'utf8')).toBe(rendered);
  });

  it('holds 20-30 options, a future and the index, liquid and illiquid', () => {
    const file = JSON.parse(rendered) as TestInstrumentsFile;
    const options = file.instruments.filter((i) => i.instrument_type === 'CE' || i.instrument_type === 'PE');
    expect(options.length).toBeGreaterThanOrEqual(20);
    expect(options.length).toBeLessThanOrEqual(30);
    expect(file.instruments.some((i) => i.instrument_type === 'FUT')).toBe(true);
    expect(file.instruments.some((i) => i.instrument_token === 256265)).toBe(true);
    expect(options.some((i) => i.liquidity === 'illiquid' && i.reference_session_candles < 375)).toBe(true);
    expect(file.seed).toBe(42);
    expect(file.reference_date).toBe('2025-11-03');
  });
});
