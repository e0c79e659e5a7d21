import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { TEST_CHROMIUM } from './env';

/** Debian's Chromium (`apt-get install chromium`), used where it is installed. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** What a browser test launches: the executable and the environment it needs. */
export interface ChromiumBuild {
  executablePath: string;
  /** The browser's environment: this process's, plus the bundled build's own libraries and fonts. */
  env: Record<string, string>;
  /** `debian`, `bundled` or the path TEST_CHROMIUM named. */
  source: string;
}

/**
 * The flags every browser test starts Chromium with: headless, as root without the sandbox, and
 * without the background connections (updates, sync, safe browsing) that a closed network refuses.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PACKAGE = '@sparticuz/chromium';

/**
 * The Chromium of the browser tests: TEST_CHROMIUM when set (a path, or `bundled`), else Debian's
 * where it is installed, else the build the dev dependency `@sparticuz/chromium` carries inside
 * its package, so that `npm ci && npm test` needs nothing else on the machine.
 */
export async function chromiumBuild(): Promise<ChromiumBuild> {
  if (TEST_CHROMIUM && TEST_CHROMIUM !== 'bundled') {
    if (!existsSync(TEST_CHROMIUM)) throw new Error(`TEST_CHROMIUM=${TEST_CHROMIUM}: no such file`);
    return { executablePath: TEST_CHROMIUM, env: environment({}), source: TEST_CHROMIUM };
  }
  if (!TEST_CHROMIUM && existsSync(DEBIAN_CHROMIUM))
    return { executablePath: DEBIAN_CHROMIUM, env: environment({}), source: 'debian' };
  return bundledChromium();
}

/**
 * Unpacks the package's Brotli-compressed build (the browser, the NSS, NSPR and expat libraries it
 * links against, a font) once per package version under node_modules/.cache, into a directory of
 * its own that is renamed into place whole: concurrent test runs never see half a binary, and a
 * fresh `npm ci` (which removes node_modules) unpacks it again. The package's own `executablePath()`
 * is not used: it unpacks into the shared /tmp/chromium, reuses whatever is there whatever its
 * version, and adds the libraries only on Amazon Linux.
 */
export async function bundledChromium(): Promise<ChromiumBuild> {
  // The package exports only its code (build/cjs/index.cjs); its root is two levels up.
  const root = join(dirname(require.resolve(PACKAGE)), '..', '..');
  const bin = join(root, 'bin');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const cache = join(root, '..', '..', '.cache', 'mds-chromium');
  const target = join(cache, version);
  if (!existsSync(join(target, 'chromium'))) {
    const staging = `${target}.${process.pid}.${Date.now()}`;
    mkdirSync(staging, { recursive: true });
    try {
      await pipeline(
        createReadStream(join(bin, 'chromium.br')),
        createBrotliDecompress(),
        createWriteStream(join(staging, 'chromium'), { mode: 0o755 }),
      );
      for (const archive of ['al2023.tar.br', 'fonts.tar.br']) {
        const dir = join(staging, archive.replace('.tar.br', ''));
        mkdirSync(dir);
        execFileSync('tar', ['-x', '-f', '-', '-C', dir], {
          input: brotliDecompressSync(readFileSync(join(bin, archive))),
        });
      }
      // Where the machine has no fontconfig setup of its own, the package's font is the only one.
      writeFileSync(
        join(staging, 'fonts.conf'),
        `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(target, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(target, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
      );
      try {
        renameSync(staging, target);
      } catch (error) {
        // Another run unpacked the same version first: its copy is as good as ours.
        if (!existsSync(join(target, 'chromium'))) throw error;
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const added: Record<string, string> = { LD_LIBRARY_PATH: join(target, 'al2023', 'lib') };
  if (!existsSync('/etc/fonts/fonts.conf')) added.FONTCONFIG_FILE = join(target, 'fonts.conf');
  return { executablePath: join(target, 'chromium'), env: environment(added), source: 'bundled' };
}

function environment(added: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  return { ...env, ...added };
}
