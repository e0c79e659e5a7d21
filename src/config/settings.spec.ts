import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { IsString, MinLength } from 'class-validator';
import { loadAppConfig } from '../app.settings';
import { backfillConfig, BackfillConfig } from '../backfill/backfill.config';
import { httpConfig } from '../common/http.config';
import { FixedClock } from '../contracts/market-time';
import { databaseConfig } from '../database/database.config';
import { redisConfig, RedisConfig } from '../redis/redis.config';
import { ConfigValidationError, loadConfig } from './config.loader';
import { ConfigModule } from './config.module';
import { InjectSettings, isSecret, provideSettings, Secret, settingsNamespace } from './settings';

const NO_FILE = { envDir: '/nonexistent' };

class VaultSettings {
  @Secret()
  @IsString()
  @MinLength(12)
  VAULT_TOKEN = 'a-default-vault-token';

  @IsString()
  @MinLength(3)
  VAULT_NAME = 'vault';
}
const vaultConfig = settingsNamespace('vault', VaultSettings);
const VAULT = { namespaces: [vaultConfig], acrossSettings: () => [] };

async function problemsOf(env: Record<string, string>): Promise<string[]> {
  try {
    await loadConfig(VAULT, { env, ...NO_FILE });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('settings marked @Secret()', () => {
  it('are known as secrets where they are declared', () => {
    expect(isSecret(VaultSettings, 'VAULT_TOKEN')).toBe(true);
    expect(isSecret(VaultSettings, 'VAULT_NAME')).toBe(false);
    for (const name of ['DATABASE_URL', 'DATABASE_READ_URL'])
      expect(isSecret(databaseConfig.settings, name)).toBe(true);
    expect(isSecret(redisConfig.settings, 'REDIS_URL')).toBe(true);
    expect(isSecret(httpConfig.settings, 'API_KEY')).toBe(true);
    expect(isSecret(httpConfig.settings, 'PORT')).toBe(false);
  });

  it('never print a bad value in the validation message, while other settings show theirs', async () => {
    const problems = await problemsOf({ VAULT_TOKEN: 'hunter2-pw', VAULT_NAME: 'xy' });
    expect(problems).toHaveLength(2);
    const message = new ConfigValidationError(problems).message;
    expect(message).not.toContain('hunter2');
    expect(message).toContain(
      'VAULT_TOKEN: VAULT_TOKEN must be longer than or equal to 12 characters (got <hidden>)',
    );
    expect(message).toContain('(got "xy")');
  });
});

@Injectable()
class BackfillReader {
  constructor(
    @Inject(backfillConfig.KEY) readonly backfill: BackfillConfig,
    @InjectSettings(backfillConfig, redisConfig) readonly combined: BackfillConfig & RedisConfig,
  ) {}
}

describe('a settings namespace', () => {
  it('injects its validated, typed values, alone or beside another namespace', async () => {
    const loaded = await loadAppConfig({
      env: { BACKFILL_INTERVAL_SECONDS: '60', REDIS_CHANNEL_PREFIX: 'typed:nifty' },
      ...NO_FILE,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loaded, new FixedClock('2026-01-05T04:00:00Z'))],
      providers: [BackfillReader, provideSettings(backfillConfig, redisConfig)],
    }).compile();
    const reader = moduleRef.get(BackfillReader);

    const interval: number = reader.backfill.BACKFILL_INTERVAL_SECONDS;
    expect(interval).toBe(60);
    expect(reader.backfill.BACKFILL_ENABLED).toBe(true);
    expect(reader.backfill).toBeInstanceOf(backfillConfig.settings);
    expect(Object.isFrozen(reader.backfill)).toBe(true);
    expect(reader.combined.BACKFILL_INTERVAL_SECONDS).toBe(60);
    expect(reader.combined.REDIS_CHANNEL_PREFIX).toBe('typed:nifty');
    // The same values through @nestjs/config's ConfigService, by namespace.
    expect(moduleRef.get(ConfigService).get<BackfillConfig>('backfill')?.BACKFILL_INTERVAL_SECONDS).toBe(60);
    await moduleRef.close();
  });

  it('has no values of its own: only loadConfig registers them, validated', () => {
    expect(() => backfillConfig()).toThrow(/loadConfig/);
  });

  it('keeps an application given its own settings out of process.env, so another one in the same process is unaffected', async () => {
    expect(process.env.BACKFILL_CONCURRENCY).toBeUndefined();
    const first = await loadAppConfig({ env: { BACKFILL_CONCURRENCY: '7' }, ...NO_FILE });
    const second = await loadAppConfig({ env: {}, ...NO_FILE });
    expect(first.config.BACKFILL_CONCURRENCY).toBe(7);
    expect(second.config.BACKFILL_CONCURRENCY).toBe(3);
    expect(process.env.BACKFILL_CONCURRENCY).toBeUndefined();
  });
});
