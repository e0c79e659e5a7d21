import { Logger } from '@nestjs/common';
import { THROTTLE_PERIOD_MS, ThrottledLog } from './throttled-log';

/** The lines a ThrottledLog writes, by level. */
function recorder(): { logger: Logger; lines: Array<[string, unknown]> } {
  const lines: Array<[string, unknown]> = [];
  const logger = {
    warn: (message: unknown) => lines.push(['warn', message]),
    error: (message: unknown) => lines.push(['error', message]),
    debug: (message: unknown) => lines.push(['debug', message]),
  } as unknown as Logger;
  return { logger, lines };
}

describe('ThrottledLog', () => {
  it('warns once per reason, sends the rest of a flood to debug, and warns again a period later with the count', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new ThrottledLog(logger, 'warn', () => now);
    for (let i = 0; i < 1000; i++) {
      log.report('invalid_json', `bad ${i}`);
      log.report('oversized', `big ${i}`);
    }
    const warnings = lines.filter(([level]) => level === 'warn').map(([, message]) => message);
    expect(warnings).toEqual([
      'bad 0; further invalid_json lines are logged at debug level for 10 min',
      'big 0; further oversized lines are logged at debug level for 10 min',
    ]);
    expect(lines.filter(([level]) => level === 'debug')).toHaveLength(1998);

    now = THROTTLE_PERIOD_MS - 1;
    log.report('invalid_json', 'still quiet');
    now = THROTTLE_PERIOD_MS;
    log.report('invalid_json', 'again');
    expect(lines.at(-1)).toEqual([
      'warn',
      'again; 1000 more invalid_json since the last warning; further invalid_json lines are logged at debug level for 10 min',
    ]);
  });

  it('adds the count to the fields of a JSON line, logs at the level given, and can leave the quiet lines out', () => {
    let now = 0;
    const { logger, lines } = recorder();
    const log = new ThrottledLog(logger, 'error', () => now);
    log.report('ticker:330:-330', { message: 'wrong window', job: 'bf-1' });
    log.report('ticker:330:-330', { message: 'wrong window', job: 'bf-2' }, { debug: false });
    now = THROTTLE_PERIOD_MS;
    log.report('ticker:330:-330', { message: 'wrong window', job: 'bf-3' });
    expect(lines).toEqual([
      ['error', expect.objectContaining({ job: 'bf-1', suppressed: 0 })],
      ['error', expect.objectContaining({ job: 'bf-3', suppressed: 1 })],
    ]);
  });

  it('warns once per reason for good when made with once()', () => {
    const { logger, lines } = recorder();
    const log = ThrottledLog.once(logger, 'error');
    for (let i = 0; i < 3; i++) log.report('probe', `unverified ${i}`);
    expect(lines).toEqual([
      ['error', 'unverified 0; further probe lines are logged at debug level'],
      ['debug', 'unverified 1'],
      ['debug', 'unverified 2'],
    ]);
  });
});
