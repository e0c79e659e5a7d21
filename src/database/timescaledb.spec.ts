import { compressionLookbackWarning, planStorage, StorageModeError, TimescaleProbe } from './timescaledb';

const PLAIN: TimescaleProbe = { available: null, installed: null, preloaded: false };
const NOT_PRELOADED: TimescaleProbe = { available: '2.28.3', installed: null, preloaded: false };
const READY: TimescaleProbe = { available: '2.28.3', installed: null, preloaded: true };
const INSTALLED: TimescaleProbe = { available: '2.28.3', installed: '2.28.3', preloaded: true };
const INSTALLED_NOT_PRELOADED: TimescaleProbe = { ...INSTALLED, preloaded: false };

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StorageModeError);
    return (error as Error).message;
  }
  throw new Error('expected a StorageModeError');
}

describe('planStorage', () => {
  it('installs TimescaleDB where the server preloads it, unless off', () => {
    expect(planStorage('auto', READY, true)).toEqual({ kind: 'timescaledb', install: true });
    expect(planStorage('require', READY, true)).toEqual({ kind: 'timescaledb', install: true });
    expect(planStorage('off', READY, true)).toEqual({ kind: 'plain', reason: 'DB_TIMESCALEDB=off' });
  });

  it('keeps a database that already has the extension in TimescaleDB, saying so when off', () => {
    expect(planStorage('auto', INSTALLED, false)).toEqual({ kind: 'timescaledb', install: false });
    const off = planStorage('off', INSTALLED, true);
    expect(off).toMatchObject({ kind: 'timescaledb', install: false });
    expect(off.warning).toMatch(
      /^DB_TIMESCALEDB=off, but this database already has the timescaledb extension 2\.28\.3: .*nothing more is converted$/,
    );
  });

  it('runs plain without a word where the server has no TimescaleDB, and require refuses', () => {
    expect(planStorage('auto', PLAIN, true)).toEqual({
      kind: 'plain',
      reason: 'TimescaleDB extension not installed on the server',
    });
    expect(refusal(() => planStorage('require', PLAIN, true))).toMatch(/has no timescaledb extension/);
  });

  it('names shared_preload_libraries where the packages are there but not preloaded', () => {
    const auto = planStorage('auto', NOT_PRELOADED, true);
    expect(auto).toMatchObject({ kind: 'plain' });
    expect(auto.warning).toMatch(/add 'timescaledb' to shared_preload_libraries/);
    expect(refusal(() => planStorage('require', NOT_PRELOADED, true))).toMatch(/shared_preload_libraries/);
    expect(planStorage('off', NOT_PRELOADED, true)).toEqual({ kind: 'plain', reason: 'DB_TIMESCALEDB=off' });
  });

  it('refuses in every mode a database whose hypertable the server cannot load', () => {
    for (const setting of ['auto', 'require', 'off'] as const)
      expect(refusal(() => planStorage(setting, INSTALLED_NOT_PRELOADED, true))).toMatch(
        /installed but the server does not preload it: add 'timescaledb' to shared_preload_libraries/,
      );
  });

  it('changes nothing without migrations, and says which command would', () => {
    const auto = planStorage('auto', READY, false);
    expect(auto).toMatchObject({ kind: 'plain' });
    expect(auto.warning).toMatch(/npm run migration:run/);
    expect(refusal(() => planStorage('require', READY, false))).toMatch(/npm run migration:run/);
  });

  it('words every refusal and warning as one line', () => {
    const lines = [
      refusal(() => planStorage('require', PLAIN, true)),
      refusal(() => planStorage('require', NOT_PRELOADED, true)),
      refusal(() => planStorage('auto', INSTALLED_NOT_PRELOADED, true)),
      planStorage('auto', NOT_PRELOADED, true).warning!,
      planStorage('auto', READY, false).warning!,
    ];
    for (const line of lines) expect(line).not.toMatch(/\n/);
  });
});

describe('compressionLookbackWarning', () => {
  it('warns where compression reaches into the minutes the scheduled backfill re-fetches', () => {
    expect(
      compressionLookbackWarning({ DB_COMPRESS_AFTER_DAYS: 30, BACKFILL_LOOKBACK_SESSIONS: 5 }),
    ).toBeUndefined();
    expect(
      compressionLookbackWarning({ DB_COMPRESS_AFTER_DAYS: 91, BACKFILL_LOOKBACK_SESSIONS: 60 }),
    ).toBeUndefined();
    expect(
      compressionLookbackWarning({ DB_COMPRESS_AFTER_DAYS: 30, BACKFILL_LOOKBACK_SESSIONS: 60 }),
    ).toMatch(
      /^DB_COMPRESS_AFTER_DAYS=30 is within the 60-session backfill lookback \(about 91 days\).*set it to 91 or more$/,
    );
  });
});
