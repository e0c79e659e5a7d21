import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadAppConfig } from './app.settings';
import { ConfigValidationError } from './config/config.loader';

const repoRoot = resolve(__dirname, '..');

async function loadConfig(env: NodeJS.ProcessEnv, options: { envDir: string }) {
  return (await loadAppConfig({ env, ...options })).config;
}

async function problemsOf(env: NodeJS.ProcessEnv, envDir = repoRoot): Promise<string[]> {
  try {
    await loadConfig(env, { envDir });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('the configuration (loadAppConfig)', () => {
  it('selects .env.dev by default and lets real variables override it', async () => {
    const config = await loadConfig({ BACKFILL_INTERVAL_SECONDS: '60' }, { envDir: repoRoot });
    expect(config.APP_ENV).toBe('dev');
    expect(config.SUBSCRIPTION_EVENTS_ENABLED).toBe(true);
    expect(config.DB_MIGRATE_ON_BOOT).toBe(true);
    expect(config.BACKFILL_INTERVAL_SECONDS).toBe(60);
    expect(config.REDIS_CHANNEL_PREFIX).toBe('ticker:nifty');
  });

  it('starts production with the subscription features off', async () => {
    const config = await loadConfig(
      { APP_ENV: 'production', DATABASE_URL: 'postgres://u:p@db:5432/md', API_KEY: 'a-production-key' },
      { envDir: repoRoot },
    );
    expect(config.APP_ENV).toBe('production');
    expect(config.DB_MIGRATE_ON_BOOT).toBe(false);
    expect(config.SUBSCRIPTION_EVENTS_ENABLED).toBe(false);
    expect(config.BACKFILL_SUBSCRIPTION_AWARE).toBe(false);
    expect(config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE).toBe(false);
    expect(config.BACKFILL_ENABLED).toBe(true);
    expect(config.LOG_FORMAT).toBe('json');
  });

  it('enables the subscription features in staging', async () => {
    const config = await loadConfig({ APP_ENV: 'staging', API_KEY: 'a-staging-key' }, { envDir: repoRoot });
    expect(
      config.SUBSCRIPTION_EVENTS_ENABLED &&
        config.BACKFILL_SUBSCRIPTION_AWARE &&
        config.BACKFILL_IMMEDIATE_ON_SUBSCRIBE,
    ).toBe(true);
  });

  it('applies defaults when no file exists', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cfg-'));
    const config = await loadConfig({}, { envDir: empty });
    expect(config.BACKFILL_INTERVAL_SECONDS).toBe(300);
    expect(config.REDIS_CHANNEL_PREFIX).toBe('ticker:nifty');
    expect(config.API_KEY).toBeUndefined();
    expect(config.MARKET_HOLIDAYS.length).toBeGreaterThan(10);
  });

  it('rejects an unknown APP_ENV', async () => {
    expect(await problemsOf({ APP_ENV: 'prod' })).toEqual([
      expect.stringContaining('APP_ENV must be one of dev, staging, production'),
    ]);
  });

  it('names every bad variable and why, in one message', async () => {
    const problems = await problemsOf({
      SUBSCRIPTION_EVENTS_ENABLED: 'yes',
      REDIS_URL: 'not a url',
      BACKFILL_INTERVAL_SECONDS: '-5',
      PORT: 'eighty',
      LOG_FORMAT: 'xml',
      MARKET_HOLIDAYS: '2025-11-05,tomorrow',
    });
    const text = problems.join('\n');
    expect(text).toContain('SUBSCRIPTION_EVENTS_ENABLED must be true or false (got "yes")');
    expect(text).toMatch(/REDIS_URL: .*URL.*\(got <hidden>\)/);
    expect(text).toContain('BACKFILL_INTERVAL_SECONDS must not be less than 10 (got "-5")');
    expect(text).toContain('PORT must be an integer number (got "eighty")');
    expect(text).toContain('LOG_FORMAT must be one of the following values: json, pretty');
    expect(text).toContain('MARKET_HOLIDAYS must be a comma-separated list of YYYY-MM-DD dates');
    expect(new Set(problems.map((p) => p.split(':')[0])).size).toBe(6);
  });

  it('reads the readiness requirement as a list of known checks', async () => {
    expect((await loadConfig({}, { envDir: repoRoot })).HEALTH_READINESS_REQUIRES).toEqual(['database']);
    expect(
      (await loadConfig({ HEALTH_READINESS_REQUIRES: 'database, redis' }, { envDir: repoRoot }))
        .HEALTH_READINESS_REQUIRES,
    ).toEqual(['database', 'redis']);
    expect(await problemsOf({ HEALTH_READINESS_REQUIRES: 'database,kafka' })).toEqual([
      expect.stringContaining(
        'HEALTH_READINESS_REQUIRES must be a comma-separated list of database, redis, subscription_events, backfill, fo_stream',
      ),
    ]);
    expect(await problemsOf({ HEALTH_READINESS_REQUIRES: ' , ' })).toEqual([
      expect.stringContaining('HEALTH_READINESS_REQUIRES must name at least one check'),
    ]);
  });

  it.each(['staging', 'production'])(
    'refuses to start in %s without API_KEY, unless API_KEY_DISABLED=true says so explicitly',
    async (environment) => {
      expect(await problemsOf({ APP_ENV: environment })).toEqual([
        `API_KEY: required when APP_ENV is ${environment} (the mutating routes would be open); set it, or API_KEY_DISABLED=true to run without one`,
      ]);
      // An empty value is not a key.
      expect(await problemsOf({ APP_ENV: environment, API_KEY: '' })).toHaveLength(1);
      const open = await loadConfig({ APP_ENV: environment, API_KEY_DISABLED: 'true' }, { envDir: repoRoot });
      expect(open.API_KEY).toBeUndefined();
      expect(
        (await loadConfig({ APP_ENV: environment, API_KEY: 'long-enough-key' }, { envDir: repoRoot }))
          .API_KEY,
      ).toBe('long-enough-key');
    },
  );

  it('refuses API_KEY_DISABLED=true beside an API_KEY, and needs neither in dev', async () => {
    expect(
      await problemsOf({ APP_ENV: 'production', API_KEY: 'long-enough-key', API_KEY_DISABLED: 'true' }),
    ).toEqual(['API_KEY_DISABLED: true while API_KEY is set; unset one of them']);
    expect((await loadConfig({ APP_ENV: 'dev' }, { envDir: repoRoot })).API_KEY).toBeUndefined();
  });

  it('takes the instrument list from Kite only with both credentials, and refuses an unknown source', async () => {
    expect(await problemsOf({ INSTRUMENT_LIST_SOURCE: 'kite', KITE_API_KEY: 'key' })).toEqual([
      'INSTRUMENT_LIST_SOURCE: kite needs KITE_API_KEY and KITE_ACCESS_TOKEN; set them, or use auto, ticker or off',
    ]);
    expect((await problemsOf({ INSTRUMENT_LIST_SOURCE: 'nse' }))[0]).toMatch(/^INSTRUMENT_LIST_SOURCE: /);
    const kite = { INSTRUMENT_LIST_SOURCE: 'kite', KITE_API_KEY: 'key', KITE_ACCESS_TOKEN: 'token' };
    expect((await loadConfig(kite, { envDir: repoRoot })).INSTRUMENT_LIST_SOURCE).toBe('kite');
    expect(
      (await loadConfig({}, { envDir: mkdtempSync(join(tmpdir(), 'cfg-')) })).INSTRUMENT_LIST_SOURCE,
    ).toBe('auto');
  });

  it('reads special sessions and refuses unreadable ones, naming the entry', async () => {
    const defaults = await loadConfig({}, { envDir: mkdtempSync(join(tmpdir(), 'cfg-')) });
    expect(defaults.MARKET_SPECIAL_SESSIONS).toEqual(
      expect.arrayContaining(['2025-10-21@13:45-14:45', '2026-02-01@09:15-15:30']),
    );
    expect(defaults.MARKET_HOLIDAYS).toContain('2026-01-15');
    const custom = await loadConfig(
      { MARKET_SPECIAL_SESSIONS: ' 2026-11-08@18:00-19:00 , 2027-02-01@09:15-15:30' },
      { envDir: repoRoot },
    );
    expect(custom.MARKET_SPECIAL_SESSIONS).toEqual(['2026-11-08@18:00-19:00', '2027-02-01@09:15-15:30']);
    expect(
      (await loadConfig({ MARKET_SPECIAL_SESSIONS: '' }, { envDir: repoRoot })).MARKET_SPECIAL_SESSIONS,
    ).toEqual([]);
    const problems = (await problemsOf({ MARKET_SPECIAL_SESSIONS: '2026-11-08@19:00-18:00' })).join('\n');
    expect(problems).toContain(
      'MARKET_SPECIAL_SESSIONS must be a comma-separated list of YYYY-MM-DD@HH:MM-HH:MM',
    );
    expect(problems).toContain('the close must come after the open');
    expect((await problemsOf({ MARKET_SPECIAL_SESSIONS: '2026-11-08@18:00' })).join()).toContain(
      '"2026-11-08@18:00" is not YYYY-MM-DD@HH:MM-HH:MM',
    );
    expect(
      (await problemsOf({ MARKET_SPECIAL_SESSIONS: '2026-11-08@18:00-19:00,2026-11-08@09:15-15:30' })).join(),
    ).toContain('two sessions on 2026-11-08');
  });

  it('takes auto or a whole number of minutes for the ticker window shift, auto by default', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cfg-'));
    expect((await loadConfig({}, { envDir: empty })).TICKER_WINDOW_SHIFT_MINUTES).toBe('auto');
    for (const environment of ['dev', 'staging', 'production'])
      expect(
        (
          await loadConfig(
            { APP_ENV: environment, DATABASE_URL: 'postgres://u:p@db:5432/md', API_KEY: 'long-enough-key' },
            { envDir: repoRoot },
          )
        ).TICKER_WINDOW_SHIFT_MINUTES,
      ).toBe('auto');
    expect(
      (await loadConfig({ TICKER_WINDOW_SHIFT_MINUTES: ' AUTO ' }, { envDir: empty }))
        .TICKER_WINDOW_SHIFT_MINUTES,
    ).toBe('auto');
    expect(
      (await loadConfig({ TICKER_WINDOW_SHIFT_MINUTES: '330' }, { envDir: empty }))
        .TICKER_WINDOW_SHIFT_MINUTES,
    ).toBe(330);
    expect(
      (
        await loadConfig(
          { TICKER_WINDOW_SHIFT_MINUTES: '0', TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '0' },
          { envDir: empty },
        )
      ).TICKER_WINDOW_SHIFT_MINUTES,
    ).toBe(0);
    expect((await problemsOf({ TICKER_WINDOW_SHIFT_MINUTES: 'sometimes' }, empty)).join()).toContain(
      'TICKER_WINDOW_SHIFT_MINUTES must be auto or a whole number of minutes between -720 and 720',
    );
    expect(await problemsOf({ TICKER_WINDOW_SHIFT_MINUTES: '5.5' }, empty)).toHaveLength(1);
    expect((await problemsOf({ TICKER_WINDOW_PROBE_INTERVAL_SECONDS: '0' }, empty)).join()).toContain(
      'TICKER_WINDOW_SHIFT_MINUTES=auto learns the shift from the probe',
    );
  });

  it('never echoes a secret', async () => {
    const problems = await problemsOf({ API_KEY: 'short', DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(problems.join('\n')).not.toMatch(/short|hunter2/);
    expect(problems).toHaveLength(2);
  });

  it('reads the file named by APP_ENV', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, '.env.staging'), 'BACKFILL_CONCURRENCY=7\nFO_STREAM_ENABLED=false\n');
    const config = await loadConfig({ APP_ENV: 'staging', API_KEY_DISABLED: 'true' }, { envDir: dir });
    expect(config.BACKFILL_CONCURRENCY).toBe(7);
    expect(config.FO_STREAM_ENABLED).toBe(false);
  });
});
