import { ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UI_MODULES } from '../../src/ui/ui-assets.service';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TEST_REDIS_URL, uniqueName } from '../support/env';
import { validateResponsesFrom } from '../support/openapi-responses';
import { freePort } from '../support/service-process';
import { waitFor } from '../support/wait-for';

const ROOT = join(__dirname, '..', '..');

// tsc copies no assets: the build script must, or the compiled service serves no page.
describe('npm run build, then node dist/main.js', () => {
  let database: TestDatabase;
  let child: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await database?.drop();
  });

  it('serves the page and every asset it loads', async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
    database = await createTestDatabase();
    const port = await freePort();
    child = spawn(process.execPath, ['dist/main.js'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        APP_ENV: 'dev',
        PORT: String(port),
        DATABASE_URL: database.url,
        DB_MIGRATE_ON_BOOT: 'true',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_CHANNEL_PREFIX: `${uniqueName('uib')}:nifty`,
        QUEUE_PREFIX: uniqueName('uib'),
        SUBSCRIPTION_EVENTS_ENABLED: 'false',
        BACKFILL_ENABLED: 'false',
        FO_STREAM_ENABLED: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      'the compiled service to answer',
      async () => {
        if (child!.exitCode !== null) throw new Error(`exited ${child!.exitCode}: ${output.slice(-2000)}`);
        return (await fetch(`${url}/health/live`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    validateResponsesFrom(url);

    const root = await fetch(`${url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');

    const page = await fetch(`${url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toBe(readFileSync(join(ROOT, 'src/ui/public/index.html'), 'utf8'));

    for (const [path, type] of [
      ['/ui/app.js', /^text\/javascript/],
      ['/ui/style.css', /^text\/css/],
      ['/ui/vendor/lightweight-charts.mjs', /^text\/javascript/],
    ] as const) {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    // Every module the page imports, as written: the served list is the folder's.
    const modules = readdirSync(join(ROOT, 'src/ui/public/modules')).filter((name) => name.endsWith('.js'));
    expect([...UI_MODULES].sort()).toEqual(modules.sort());
    // Only what is served reaches dist: no unit test or type-check config of the page.
    expect(readdirSync(join(ROOT, 'dist/ui/public/modules')).sort()).toEqual(modules.sort());
    expect(readdirSync(join(ROOT, 'dist/ui/public')).sort()).toEqual([
      'app.js',
      'index.html',
      'modules',
      'style.css',
    ]);
    for (const name of modules) {
      const res = await fetch(`${url}/ui/modules/${name}`);
      expect({ name, status: res.status, type: res.headers.get('content-type') }).toEqual({
        name,
        status: 200,
        type: expect.stringMatching(/^text\/javascript/),
      });
      expect(await res.text()).toBe(readFileSync(join(ROOT, 'src/ui/public/modules', name), 'utf8'));
    }
    expect(output).not.toMatch(/UI asset .* not readable/);
  }, 120_000);
});
