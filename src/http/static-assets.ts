import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { z } from 'zod';
import { notFound } from '../errors.js';
import { contentEtag, matchesEtag } from './etag.js';
import type { RequestContext } from './request-context.js';
import { bytes, type Reply } from './reply.js';
import type { Route } from './router.js';
import { ifNoneMatch, REVALIDATED, UNCHANGED } from './schemas/conditional.js';

/** A file served as it is: read once at start, answered from memory. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

export function staticAsset(body: Buffer, contentType: string): StaticAsset {
  return { body, contentType, etag: contentEtag(body) };
}

/** Only these kinds are served from a folder; anything else in it stays private. */
const FOLDER_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const ASSET_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/**
 * Reads every servable file of a flat folder once. Requests then look names up in the map, so a
 * path can never reach outside the folder.
 */
export function loadAssetFolder(dir: string): ReadonlyMap<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const name of readdirSync(dir)) {
    const contentType = FOLDER_TYPES[extname(name)];
    const file = join(dir, name);
    if (!contentType || !ASSET_NAME.test(name) || !statSync(file).isFile()) continue;
    assets.set(name, staticAsset(readFileSync(file), contentType));
  }
  return assets;
}

/** Reads the named files of `dir` (name → content type) once; every one of them must be there. */
export function loadAssetFiles(dir: string, files: Readonly<Record<string, string>>): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  for (const [name, contentType] of Object.entries(files)) assets.set(name, staticAsset(readFileSync(join(dir, name)), contentType));
  return assets;
}

// no-cache still caches, but revalidates every time: an upgraded server never serves a stale file.
const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
};

/** The asset, or 304 when If-None-Match names its ETag; `headers` add to the common ones (a page's CSP). */
export function serveAsset(ctx: RequestContext, asset: StaticAsset, headers: Readonly<Record<string, string>> = {}): Reply {
  const all = { ...COMMON_HEADERS, ...headers, etag: asset.etag };
  if (matchesEtag(ctx.headers['if-none-match'], asset.etag)) return { status: 304, headers: all };
  return bytes(asset.body, asset.contentType, all);
}

/** How a folder's files are documented: the operation, and the names a client may ask for, in words. */
export interface AssetRouteDoc {
  operationId: string;
  summary: string;
  tag: string;
  names: string;
}

/** Headers of an HTML page: its Content-Security-Policy, and no Referer sent from it. */
export const pageHeaders = (contentSecurityPolicy: string): Readonly<Record<string, string>> => ({
  'content-security-policy': contentSecurityPolicy,
  'referrer-policy': 'no-referrer',
});

/**
 * `GET <prefix>/:asset`: one file of `assets` by its name, a 404 naming `what` for any other name;
 * `serve` answers it (serveAsset, or a variant that adds a page's headers).
 */
export function assetRoute(
  prefix: string,
  name: string,
  what: string,
  assets: ReadonlyMap<string, StaticAsset>,
  serve: (ctx: RequestContext, asset: StaticAsset) => Reply,
  doc: AssetRouteDoc,
): Route {
  // Documented from the files themselves, so the list cannot fall behind the folder.
  const contentTypes = [...new Set([...assets.values()].map((a) => a.contentType))].sort();
  return {
    method: 'GET',
    path: `${prefix}/:asset`,
    name,
    handler: (ctx) => {
      const asset = assets.get(ctx.params.asset);
      if (!asset) throw notFound(`no ${what} ${JSON.stringify(ctx.params.asset)}`);
      return serve(ctx, asset);
    },
    schema: {
      operationId: doc.operationId,
      summary: doc.summary,
      tags: [doc.tag],
      params: z.object({ asset: z.string().describe(doc.names) }),
      headers: ifNoneMatch,
      responses: { 200: { description: 'the file', contentType: contentTypes, headers: REVALIDATED }, 304: UNCHANGED },
      errors: { 404: 'no such file' },
    },
  };
}
