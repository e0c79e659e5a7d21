import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bundledChromium, CHROMIUM_ARGS } from '../support/chromium';

// The page test takes Debian's Chromium where it is installed; this one always starts the build
// the dev dependency carries, so that the browser of a machine without Debian's keeps working.
describe('the Chromium build the dev dependencies bring', () => {
  let server: Server;
  let origin: string;
  let profile: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(
        '<!doctype html><title>t</title><p id="out">no script</p>' +
          '<script>document.getElementById("out").textContent = ' +
          'new Intl.DateTimeFormat(undefined, { timeZone: "Asia/Kolkata", hour: "2-digit", minute: "2-digit", hour12: false })' +
          '.format(new Date("2025-11-03T03:45:00Z"));</script>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'mds-bundled-chromium-'));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(profile, { recursive: true, force: true });
  });

  it('runs headless without the sandbox and runs the page script', async () => {
    const build = await bundledChromium();
    expect(build.source).toBe('bundled');
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: build.executablePath,
      env: build.env,
      headless: true,
      locale: 'en-US',
      args: CHROMIUM_ARGS,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${origin}/`);
      // 03:45Z is 09:15 IST: the script ran, with the build's time zone data.
      expect(await page.textContent('#out')).toBe('09:15');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
