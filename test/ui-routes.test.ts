import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_ASSET_DIR, UI_SHARED_MODULES } from '../dist/src/http/ui/routes.js';
import { consoleRoutes } from './helpers/browser.js';
import { repoRoot, startTestServer } from './helpers/server.js';
import type { ErrorAnswer } from './helpers/answers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;
let base: string;

beforeAll(async () => {
  server = await startTestServer({}, { extraRoutes: await consoleRoutes() });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
});

describe('web console assets', () => {
  it('finds the assets in the source tree although the server runs from dist/', () => {
    expect(UI_ASSET_DIR).toBe(path.join(repoRoot, 'src', 'http', 'ui', 'assets'));
  });

  it('serves the page at / with its content type, a validator and a strict CSP', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toBe(readFileSync(path.join(UI_ASSET_DIR, 'index.html'), 'utf8'));
    expect(html).toContain('<script type="module" src="/ui/app.js"></script>');
  });

  it.each([
    ['app.js', 'text/javascript; charset=utf-8'],
    ['console.css', 'text/css; charset=utf-8'],
    ['icon.svg', 'image/svg+xml'],
  ])('serves /ui/%s as %s', async (name, type) => {
    const res = await fetch(`${base}/ui/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('content-security-policy')).toBeNull();
    expect(Buffer.from(await res.arrayBuffer())).toEqual(readFileSync(path.join(UI_ASSET_DIR, name)));
  });

  it('answers 304 to a matching If-None-Match and 200 to a stale one', async () => {
    const first = await fetch(`${base}/ui/app.js`);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const again = await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const listed = await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': `"other", W/${etag}` } });
    expect(listed.status).toBe(304);
    const stale = await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': '"stale"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });

  it('gives every asset its own validator', async () => {
    const tags = await Promise.all(['/', '/ui/app.js', '/ui/console.css'].map(async (p) => (await fetch(`${base}${p}`)).headers.get('etag')));
    expect(new Set(tags).size).toBe(3);
  });

  it('answers HEAD without a body', async () => {
    const res = await fetch(`${base}/ui/console.css`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  it.each(['/ui/missing.js', '/ui/..%2Fpackage.json', '/ui/routes.ts', '/ui/.hidden.js', '/ui/'])('answers 404 JSON for %s', async (p) => {
    const res = await fetch(`${base}${p}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as ErrorAnswer).error.code).toBe('not_found');
  });

  it('refuses other methods with 405', async () => {
    const res = await fetch(`${base}/ui/app.js`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });

  it('serves the modules the page shares with the server as they are built', async () => {
    expect(UI_SHARED_MODULES).toEqual({ 'metric-names.js': path.join(repoRoot, 'dist', 'src', 'evaluation', 'metric-names.js') });
    const res = await fetch(`${base}/ui/metric-names.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await res.text();
    expect(text).toBe(readFileSync(UI_SHARED_MODULES['metric-names.js'], 'utf8'));
    expect(text).not.toMatch(/^import /m);
  });

  it('ships every module the page imports, and nothing from another origin', () => {
    const files = readdirSync(UI_ASSET_DIR);
    const served = [...files, ...Object.keys(UI_SHARED_MODULES)];
    for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.html') || f.endsWith('.css'))) {
      const text = readFileSync(path.join(UI_ASSET_DIR, file), 'utf8');
      expect(text, file).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      for (const [, target] of text.matchAll(/from '\.\/([^']+)'/g)) expect(served, `${file} imports ${target}`).toContain(target);
      for (const [, target] of text.matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)) expect(served, `${file} links ${target}`).toContain(target);
    }
  });
});
