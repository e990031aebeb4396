import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';
import type { RequestContext } from '../request-context.js';
import type { Reply } from '../reply.js';
import type { Route } from '../router.js';
import { ifNoneMatch, REVALIDATED, UNCHANGED } from '../schemas/conditional.js';
import { assetRoute, loadAssetFolder, pageHeaders, serveAsset, staticAsset, type StaticAsset } from '../static-assets.js';

/**
 * The assets are plain files in the source tree; tsc does not copy them to dist/, so they are
 * found from the package root whether the server runs from src/ or dist/src/.
 */
export const UI_ASSET_DIR = join(packageRoot(), 'src', 'http', 'ui', 'assets');

/**
 * Modules the page shares with the server (names under /ui → compiled file in dist/), so what the
 * CLI and the console both say has one home. They import nothing, so they run in the browser as built.
 */
export const UI_SHARED_MODULES: Readonly<Record<string, string>> = {
  'metric-names.js': join(packageRoot(), 'dist', 'src', 'evaluation', 'metric-names.js'),
};

// The page talks only to its own origin; nothing is loaded from elsewhere, nothing inline.
const PAGE_HEADERS = pageHeaders(
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);

const serve = (ctx: RequestContext, asset: StaticAsset): Reply => serveAsset(ctx, asset, asset.contentType.startsWith('text/html') ? PAGE_HEADERS : {});

/** The page at one of its two paths: `/`, unless a service profile claims it, and `/console`, always. */
function pageRoute(path: string, operationId: string, page: StaticAsset): Route {
  return {
    method: 'GET',
    path,
    name: 'ui',
    handler: (ctx) => serve(ctx, page),
    schema: {
      operationId,
      summary: path === '/' ? 'The web console' : 'The web console (also at / unless a service profile answers there)',
      tags: ['Console'],
      headers: ifNoneMatch,
      responses: {
        200: { description: 'the page', contentType: 'text/html; charset=utf-8', headers: REVALIDATED },
        304: UNCHANGED,
      },
    },
  };
}

/** The web console: `GET /` and `GET /console` are the page, `GET /ui/{file}` its scripts, styles and icon. */
export function uiRoutes(dir: string = UI_ASSET_DIR): Route[] {
  const assets = new Map(loadAssetFolder(dir));
  for (const [name, file] of Object.entries(UI_SHARED_MODULES)) assets.set(name, staticAsset(readFileSync(file), 'text/javascript; charset=utf-8'));
  const page = assets.get('index.html');
  if (!page) throw new Error(`web console: ${join(dir, 'index.html')} is missing`);
  return [
    pageRoute('/', 'getConsole', page),
    pageRoute('/console', 'getConsoleAtConsole', page),
    assetRoute('/ui', 'ui-asset', 'console asset', assets, serve, {
      operationId: 'getConsoleAsset',
      summary: 'A script, style sheet or icon of the web console',
      tag: 'Console',
      names: 'a file name, e.g. app.js',
    }),
  ];
}
