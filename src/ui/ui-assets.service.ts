import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The page's ES modules under `public/modules/`, each served at `/ui/modules/<name>` (the browser
 * loads them natively: no bundler). A module missing here is a 400 to the page, and the build test
 * checks this list against the folder.
 */
export const UI_MODULES = [
  'api-key.js',
  'api.js',
  'backfill-button.js',
  'chart-panel.js',
  'chart.js',
  'coverage.js',
  'dom.js',
  'flags.js',
  'format.js',
  'queue.js',
  'refresh.js',
  'search.js',
  'selection.js',
  'sessions.js',
  'subscriptions.js',
] as const;
export type UiModule = (typeof UI_MODULES)[number];

export const UI_ASSETS = [
  'index.html',
  'app.js',
  'style.css',
  'lightweight-charts.mjs',
  ...UI_MODULES.map((name) => `modules/${name}` as const),
] as const;
export type UiAsset = (typeof UI_ASSETS)[number];

/** The page's files: `public/` beside this module (copied to dist by the build) and the chart library. */
function assetPath(asset: UiAsset): string {
  if (asset === 'lightweight-charts.mjs') {
    // The package exports only its entry points; its standalone build sits beside package.json.
    const root = dirname(require.resolve('lightweight-charts/package.json'));
    return join(root, 'dist', 'lightweight-charts.standalone.production.mjs');
  }
  return join(__dirname, 'public', asset);
}

/**
 * Reads the page's few small files once at boot. A missing file (a build that did not copy the
 * assets) is logged once and answered with a 404 naming it; the rest of the service runs on.
 */
@Injectable()
export class UiAssetsService {
  private readonly logger = new Logger(UiAssetsService.name);
  private readonly files = new Map<UiAsset, string>();

  constructor() {
    for (const asset of UI_ASSETS) {
      const path = assetPath(asset);
      try {
        this.files.set(asset, readFileSync(path, 'utf8'));
      } catch (error) {
        this.logger.error(`UI asset ${asset} not readable at ${path}: ${(error as Error).message}`);
      }
    }
  }

  get(asset: UiAsset): string {
    const text = this.files.get(asset);
    if (text === undefined) throw new NotFoundException(`UI asset ${asset} is not installed`);
    return text;
  }
}
