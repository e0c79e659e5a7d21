import SwaggerParser from '@apidevtools/swagger-parser';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL } from '../support/env';
import { freePort, startServiceProcess, ServiceProcess } from '../support/service-process';
import { startTestApp, TestApp } from '../support/app-harness';

describe('the service process', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
  });

  const baseEnv = (): Record<string, string> => ({
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    DB_MIGRATE_ON_BOOT: 'true',
    LOG_FORMAT: 'json',
    BACKFILL_ENABLED: 'false',
    FO_STREAM_ENABLED: 'false',
    REDIS_CHANNEL_PREFIX: `e2e-${process.pid}:nifty`,
    QUEUE_PREFIX: `e2e-${process.pid}`,
  });

  it('boots healthy with every subsystem on, logs JSON, and exits 0 on SIGTERM within 10 s', async () => {
    const closedPort = await freePort();
    const service = await startServiceProcess({
      ...baseEnv(),
      SUBSCRIPTION_EVENTS_ENABLED: 'true',
      BACKFILL_ENABLED: 'true',
      FO_STREAM_ENABLED: 'true',
      // No ticker here: reconciliation keeps retrying in the background, which must not block shutdown.
      TICKER_SERVICE_URL: `http://127.0.0.1:${closedPort}`,
    });
    try {
      const live = await fetch(`${service.url}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as {
        status: string;
        details: Record<string, Record<string, unknown>>;
      };
      expect(body.status).toBe('ok');
      expect(body.details.database).toEqual(
        expect.objectContaining({ status: 'up', timescaledb: expect.any(Boolean) }),
      );
      expect(body.details.redis).toEqual(expect.objectContaining({ status: 'up' }));
      const firstLine = service
        .output()
        .split('\n')
        .find((line) => line.startsWith('{'));
      expect(JSON.parse(firstLine!)).toEqual(
        expect.objectContaining({ level: expect.any(String), message: expect.anything() }),
      );
    } finally {
      const { code, ms } = await service.stop('SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(10_000);
    }
  });

  it('answers readiness within 2 s when Redis is unreachable, reporting it down but staying ready (reads need only the database)', async () => {
    const closedPort = await freePort();
    let service: ServiceProcess | undefined;
    try {
      service = await startServiceProcess({
        ...baseEnv(),
        REDIS_URL: `redis://127.0.0.1:${closedPort}`,
        SUBSCRIPTION_EVENTS_ENABLED: 'true',
        BACKFILL_ENABLED: 'true',
        FO_STREAM_ENABLED: 'true',
        TICKER_SERVICE_URL: `http://127.0.0.1:${closedPort}`,
      });
      const started = Date.now();
      const ready = await fetch(`${service.url}/health/ready`);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { details: Record<string, Record<string, unknown>> };
      expect(body.details.redis).toEqual(expect.objectContaining({ status: 'down', required: false }));
      expect(body.details.database.status).toBe('up');
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    } finally {
      await service?.stop('SIGTERM');
    }
  });

  it.each(['staging', 'production'])(
    'refuses to start in %s without API_KEY, with one message and exit code 1',
    async (environment) => {
      const service = await startServiceProcess(
        { ...baseEnv(), APP_ENV: environment },
        { waitForHttp: false },
      );
      const { code } = await service.stop('SIGCONT');
      expect(code).toBe(1);
      const lines = service
        .output()
        .split('\n')
        .filter((line) => line.includes('API_KEY'));
      expect(lines).toEqual([
        `  - API_KEY: required when APP_ENV is ${environment} (the mutating routes would be open); set it, or API_KEY_DISABLED=true to run without one`,
      ]);
    },
  );

  it('refuses to start on invalid configuration, naming every bad variable', async () => {
    const service = await startServiceProcess(
      {
        ...baseEnv(),
        BACKFILL_ENABLED: 'maybe',
        BACKFILL_INTERVAL_SECONDS: '-1',
        TICKER_SERVICE_URL: 'ftp//x',
      },
      { waitForHttp: false },
    );
    const { code } = await service.stop('SIGCONT');
    expect(code).toBe(1);
    expect(service.output()).toContain('BACKFILL_ENABLED must be true or false');
    expect(service.output()).toContain('BACKFILL_INTERVAL_SECONDS');
    expect(service.output()).toContain('TICKER_SERVICE_URL');
  });
});

describe('the HTTP surface', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      env: { API_KEY: 'secret-key-123456', KITE_ACCESS_TOKEN: 'kite-secret-token' },
    });
  });

  afterAll(async () => {
    await app.close();
  });

  it('serves a valid OpenAPI document at /docs-json and the UI at /docs', async () => {
    const document = (await (await fetch(`${app.url}/docs-json`)).json()) as Record<string, unknown>;
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
    expect(Object.keys(document.paths as object)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready', '/metrics', '/api/v1/config/flags']),
    );
    const ui = await fetch(`${app.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('reports the effective flags and never a secret', async () => {
    const response = await fetch(`${app.url}/api/v1/config/flags`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(JSON.parse(text)).toEqual(
      expect.objectContaining({
        environment: 'dev',
        flags: expect.objectContaining({ subscription_events_enabled: false, backfill_enabled: false }),
        settings: expect.objectContaining({
          api_key_required: true,
          redis_channel_prefix: app.channelPrefix,
        }),
      }),
    );
    expect(text).not.toMatch(/secret-key|kite-secret|postgres:\/\//);
  });

  it('exposes Prometheus metrics with process metrics', async () => {
    const response = await fetch(`${app.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('# TYPE backfill_time_to_data_seconds histogram');
  });
});
