import { z } from 'zod';
import { packageVersion } from '../../package-version.js';
import type { ScopeEntry } from '../auth/route-scopes.js';
import type { Route, Router } from '../router.js';
import { ifNoneMatch, REVALIDATED, UNCHANGED } from '../schemas/conditional.js';
import { assetRoute, pageHeaders, serveAsset, staticAsset, type StaticAsset } from '../static-assets.js';
import { buildOpenApiDocument, type OpenApiDocument } from './document.js';
import { withSchema } from './metrics-schema.js';
import { loadReferenceAssets } from './reference-assets.js';
import { routeSecurity } from './security.js';

// Swagger UI applies inline styles and draws its icons from data: URLs; nothing loads from elsewhere.
const PAGE_HEADERS = pageHeaders(
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);

/** Routes mounted besides the native API (service profiles): who may call them, and their tags. */
export interface MountedExtras {
  scopes: readonly ScopeEntry[];
  tags: ReadonlyArray<{ name: string; description: string }>;
}

/** The document of every route the router holds, as the server describes itself. */
export function openApiDocument(router: Router, extras: MountedExtras = { scopes: [], tags: [] }): OpenApiDocument {
  return buildOpenApiDocument(router.routes().map(withSchema), packageVersion(), routeSecurity(extras.scopes), extras.tags);
}

/**
 * `GET /openapi.json` (the OpenAPI 3.1 document of every route `router` holds) and `GET /docs`
 * (Swagger UI, served from the installed swagger-ui-dist). The document is built at the first
 * request, when every route has been registered, and kept.
 */
export function openapiRoutes(router: Router, extras?: MountedExtras): Route[] {
  let document: StaticAsset | undefined;
  const documentAsset = (): StaticAsset => (document ??= staticAsset(Buffer.from(JSON.stringify(openApiDocument(router, extras))), 'application/json'));
  const { page, files } = loadReferenceAssets();

  return [
    {
      method: 'GET',
      path: '/openapi.json',
      name: 'openapi',
      handler: (ctx) => serveAsset(ctx, documentAsset()),
      schema: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description: 'OpenAPI 3.1, generated from the schemas the routes validate requests with.',
        tags: ['Reference'],
        headers: ifNoneMatch,
        responses: {
          200: {
            description: 'the OpenAPI document',
            json: z.looseObject({ openapi: z.string().regex(/^3\.1\.\d+$/), info: z.looseObject({}), paths: z.looseObject({}) }),
            headers: REVALIDATED,
          },
          304: UNCHANGED,
        },
      },
    },
    {
      method: 'GET',
      path: '/docs',
      name: 'docs',
      handler: (ctx) => serveAsset(ctx, page, PAGE_HEADERS),
      schema: {
        operationId: 'getReference',
        summary: 'Interactive API reference',
        description: 'Swagger UI reading /openapi.json; its files are served from this server.',
        tags: ['Reference'],
        headers: ifNoneMatch,
        responses: {
          200: {
            description: 'the page',
            contentType: 'text/html; charset=utf-8',
            headers: { ...REVALIDATED, 'Content-Security-Policy': 'scripts, styles and requests from this origin only' },
          },
          304: UNCHANGED,
        },
      },
    },
    assetRoute('/docs', 'docs-asset', 'reference asset', files, serveAsset, {
      operationId: 'getReferenceAsset',
      summary: 'A file of the interactive reference',
      tag: 'Reference',
      names: 'swagger-ui.css, index.css, swagger-ui-bundle.js, swagger-ui-standalone-preset.js, reference.js, favicon-32x32.png or favicon-16x16.png',
    }),
  ];
}
