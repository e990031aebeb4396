import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { loadAssetFiles, staticAsset, type StaticAsset } from '../static-assets.js';

/** The files of swagger-ui-dist the page loads; everything else in the package stays unserved. */
const SWAGGER_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Absolute asset URLs: the page is served at /docs, where relative ones would resolve against /. */
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>sightline API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="stylesheet" href="/docs/index.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-ui-standalone-preset.js"></script>
    <script src="/docs/reference.js"></script>
  </body>
</html>
`;

/** The package's own initializer points at a demo API elsewhere; this one reads this server's document. */
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null
  });
});
`;

/** Where swagger-ui-dist is installed, found the way Node resolves the package. */
export function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** The page and every file it loads, read once, by the name they are served under `/docs/`. */
export function loadReferenceAssets(dir: string = swaggerUiDir()): { page: StaticAsset; files: ReadonlyMap<string, StaticAsset> } {
  const files = loadAssetFiles(dir, SWAGGER_FILES);
  files.set('reference.js', staticAsset(Buffer.from(INITIALIZER), 'text/javascript; charset=utf-8'));
  return { page: staticAsset(Buffer.from(PAGE), 'text/html; charset=utf-8'), files };
}
