import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../dist/src/config.js';
import { keysFromList } from '../dist/src/http/auth/key-list.js';
import { keysFromFile } from '../dist/src/http/auth/keys-file.js';
import { isLoopbackHost } from '../dist/src/http/auth/exposure.js';
import { RouteAccessTable, routeScopes } from '../dist/src/http/auth/route-scopes.js';
import { guardUpgrades } from '../dist/src/http/websocket/upgrade-guard.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { repoRoot, startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';

type Scope = 'predict' | 'ingest' | 'read' | 'admin';
const SCOPES: Scope[] = ['predict', 'ingest', 'read', 'admin'];

// One key with every scope, one with only each scope, one with every scope but each.
const ALL_KEY = 'all-scopes-key-0001';
const onlyKey = (s: Scope) => `only-${s}-key-0001`;
const allButKey = (s: Scope) => `all-but-${s}-key-0001`;
const KEY_SPECS = [ALL_KEY, ...SCOPES.map((s) => `${onlyKey(s)}:${s}`), ...SCOPES.map((s) => `${allButKey(s)}:${SCOPES.filter((o) => o !== s).join('+')}`)];
const WRONG_KEY = 'not-a-configured-key';
/** Keys from SIGHTLINE_API_KEYS are named by position. */
const nameOf = (key: string) => `env-${KEY_SPECS.findIndex((spec) => spec === key || spec.startsWith(`${key}:`)) + 1}`;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const repo = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
});
// This suite sends hundreds of refused requests from one address: the failed-authentication limit
// (rate-limit.test.ts) would answer them 429.
const server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_API_KEYS: KEY_SPECS.join(','), SIGHTLINE_AUTH_FAILURES_PER_MINUTE: '0' });
await server.modelsLoaded;
const wsBase = server.url.replace('http://', 'ws://');
const started: Array<{ close(): Promise<void> }> = [server];

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

/** A concrete URL for a route pattern: parameters name things that do not exist, so nothing is changed. */
function concrete(pattern: string): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    if (name === 'sha256') return '0'.repeat(64);
    if (name === 'asset') return 'app.js';
    return 'no-such-thing';
  });
}

async function call(route: { method: string; path: string }, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${concrete(route.path)}`, { method: route.method, headers });
  const text = await res.text();
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    body: text.startsWith('{') ? (JSON.parse(text) as { error?: { code: string; message: string } }) : undefined,
  };
}

/** The scopes this API is documented to need; anything under /docs/ and /openapi.json is the API description. */
function documentedAccess(method: string, pattern: string): string | undefined {
  if (pattern === '/openapi.json' || pattern === '/docs' || pattern.startsWith('/docs/')) return method === 'GET' ? 'public' : undefined;
  const table: Record<string, string> = {
    'GET /health/live': 'public',
    'GET /health/ready': 'public',
    'GET /ping': 'public',
    'GET /': 'public',
    'GET /console': 'public',
    'GET /ui/:asset': 'public',
    'GET /metrics': 'public',
    'GET /v1/models': 'read',
    'GET /v1/models/:name': 'read',
    'POST /v1/models/:name/load': 'admin',
    'POST /v1/models/:name/unload': 'admin',
    'POST /v1/models/:name/predict': 'predict',
    'POST /v1/models/:name/evaluate': 'predict',
    'GET /v1/evaluations': 'read',
    'GET /v1/evaluations/:id': 'read',
    'DELETE /v1/evaluations/:id': 'admin',
    'GET /v1/datasets': 'read',
    'POST /v1/jobs': 'predict',
    'GET /v1/jobs': 'read',
    'GET /v1/jobs/:id': 'read',
    'GET /v1/jobs/:id/result': 'read',
    'DELETE /v1/jobs/:id': 'admin',
    'POST /v1/detections': 'ingest',
    'GET /v1/detections': 'read',
    'GET /v1/detections/:id': 'read',
    'DELETE /v1/detections/:id': 'admin',
    'GET /v1/stats': 'read',
    'POST /v1/images': 'ingest',
    'GET /v1/images/:sha256': 'read',
    'DELETE /v1/images/:sha256': 'admin',
    'GET /v1/ws': 'read',
    'GET /v1/ws/predict/:model': 'predict',
    'GET /v2': 'public',
    'GET /v2/health/live': 'public',
    'GET /v2/health/ready': 'public',
    'GET /v2/models/:name/ready': 'public',
    'GET /v2/models/:name/versions/:version/ready': 'public',
    'GET /v2/models/:name': 'read',
    'GET /v2/models/:name/versions/:version': 'read',
    'GET /v2/models/:name/config': 'read',
    'GET /v2/models/:name/versions/:version/config': 'read',
    'GET /v2/models/stats': 'read',
    'GET /v2/models/:name/stats': 'read',
    'GET /v2/models/:name/versions/:version/stats': 'read',
    'POST /v2/models/:name/infer': 'predict',
    'POST /v2/models/:name/versions/:version/infer': 'predict',
    'POST /v2/repository/index': 'read',
    'POST /v2/repository/models/:name/load': 'admin',
    'POST /v2/repository/models/:name/unload': 'admin',
  };
  return table[`${method} ${pattern}`];
}

describe('route scope table', () => {
  it('gives every registered route the documented access', () => {
    expect(server.routes.length).toBeGreaterThanOrEqual(24);
    for (const route of server.routes) {
      expect({ route: `${route.method} ${route.path}`, access: route.access }).toEqual({
        route: `${route.method} ${route.path}`,
        access: documentedAccess(route.method, route.path),
      });
    }
  });

  it('makes /metrics need the admin scope when it is not public', () => {
    const table = new RouteAccessTable(routeScopes({ metricsPublic: false }));
    expect(table.find('GET', '/metrics')).toBe('admin');
    expect(new RouteAccessTable(routeScopes({ metricsPublic: true })).find('GET', '/metrics')).toBe('public');
  });

  it('refuses to resolve a route it does not list, naming it', () => {
    const table = new RouteAccessTable(routeScopes({ metricsPublic: true }));
    const unlisted = { method: 'POST' as const, path: '/v1/secret', handler: () => ({ status: 200 }) };
    expect(() => table.resolve([unlisted])).toThrow(
      'route POST /v1/secret has no entry in the route scope table (src/http/auth/route-scopes.ts): every route must say whether it is ' +
        'public or which scope it needs',
    );
    // Same path, another method: still unlisted.
    expect(table.find('DELETE', '/v1/models')).toBeUndefined();
  });

  it('covers every pattern under a /* entry and nothing beside it', () => {
    const table = new RouteAccessTable([{ method: 'GET', path: '/docs/*', access: 'public' }]);
    expect(table.find('GET', '/docs/:file')).toBe('public');
    expect(table.find('GET', '/docs/a/b')).toBe('public');
    expect(table.find('GET', '/docsx')).toBeUndefined();
    expect(table.find('POST', '/docs/:file')).toBeUndefined();
  });

  it('refuses a WebSocket route the table does not list', () => {
    const registered: string[] = [];
    const fakeApp = { ws: (pattern: string) => registered.push(pattern) };
    const admission = { check: () => ({ ok: true, keyName: undefined }) };
    const app = guardUpgrades(fakeApp as never, {
      admission: admission as never,
      table: new RouteAccessTable(routeScopes({ metricsPublic: true })),
      logger: silentLogger as never,
    });
    app.ws('/v1/ws', {});
    expect(() => app.ws('/v1/ws/other', {})).toThrow('route GET /v1/ws/other has no entry in the route scope table');
    expect(registered).toEqual(['/v1/ws']);
  });
});

const silentLogger = { info() {}, warn() {}, error() {} };

/** A refusal's body: the native error shape, or the Open Inference Protocol's on its routes under /v2. */
const refusal = (route: { path: string }, code: string, message: string) =>
  route.path === '/v2' || route.path.startsWith('/v2/') ? { error: message } : { error: { code, message } };

describe('auth matrix', () => {
  // Every registered route, read from the server's router: a new route is covered without touching this file.
  describe.each(server.routes.map((r) => ({ ...r, name: `${r.method} ${r.path} (${r.access})` })))('$name', (route) => {
    if (route.access === 'public') {
      it('answers the same with no key, a wrong key and any key', async () => {
        const statuses = [
          (await call(route)).status,
          (await call(route, { 'x-api-key': WRONG_KEY })).status,
          (await call(route, { authorization: `Bearer ${WRONG_KEY}` })).status,
          ...(await Promise.all(SCOPES.map(async (s) => (await call(route, { 'x-api-key': onlyKey(s) })).status))),
        ];
        expect(statuses.every((s) => s === statuses[0])).toBe(true);
        expect([401, 403]).not.toContain(statuses[0]);
        expect(statuses[0]).toBeLessThan(500);
      });
      return;
    }
    const scope = route.access;

    it('no key: 401 with a Bearer challenge', async () => {
      const r = await call(route);
      expect(r.status).toBe(401);
      expect(r.challenge).toBe('Bearer realm="sightline"');
      expect(r.body).toEqual(refusal(route, 'unauthorized', 'an API key is required: send it as X-API-Key or Authorization: Bearer'));
    });

    it('wrong key: 401 invalid_token, as X-API-Key and as Bearer', async () => {
      const tries: Record<string, string>[] = [{ 'x-api-key': WRONG_KEY }, { authorization: `Bearer ${WRONG_KEY}` }];
      for (const headers of tries) {
        const r = await call(route, headers);
        expect(r.status).toBe(401);
        expect(r.challenge).toBe('Bearer realm="sightline", error="invalid_token"');
        expect(r.body).toEqual(refusal(route, 'unauthorized', 'the API key is not valid'));
      }
    });

    it(`key without the ${scope} scope: 403`, async () => {
      const r = await call(route, { 'x-api-key': allButKey(scope) });
      expect(r.status).toBe(403);
      expect(r.challenge).toBe(`Bearer realm="sightline", error="insufficient_scope", scope="${scope}"`);
      expect(r.body).toEqual(refusal(route, 'forbidden', `API key "${nameOf(allButKey(scope))}" lacks the ${scope} scope this route needs`));
    });

    it(`key with the ${scope} scope: reaches the route, as X-API-Key and as Bearer`, async () => {
      const tries: Record<string, string>[] = [
        { 'x-api-key': onlyKey(scope) },
        { authorization: `Bearer ${onlyKey(scope)}` },
        { authorization: `bearer ${ALL_KEY}` },
      ];
      for (const headers of tries) {
        const r = await call(route, headers);
        expect([401, 403]).not.toContain(r.status);
        expect(r.status).toBeLessThan(500);
      }
    });
  });
});

describe('keys', () => {
  it('serves a real predict with the right key and refuses it with an ingest-only key', async () => {
    const png = await solidImage('png', 8, 8, [255, 0, 0]);
    const ok = await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: new Uint8Array(png),
      headers: { 'content-type': 'image/png', 'x-api-key': onlyKey('predict') },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { label: string }).label).toBe('red');
    const refused = await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: new Uint8Array(png),
      headers: { 'content-type': 'image/png', 'x-api-key': onlyKey('ingest') },
    });
    expect(refused.status).toBe(403);
  });

  it('takes only the Bearer scheme from Authorization, and X-API-Key first', async () => {
    const models = (headers: Record<string, string>) => fetch(`${server.url}/v1/models`, { headers }).then((r) => r.status);
    expect(await models({ authorization: `Basic ${Buffer.from(`u:${onlyKey('read')}`).toString('base64')}` })).toBe(401);
    expect(await models({ authorization: onlyKey('read') })).toBe(401);
    expect(await models({ 'x-api-key': onlyKey('read'), authorization: `Bearer ${WRONG_KEY}` })).toBe(200);
  });

  it('does not take a key from the query of an HTTP request, and says where it is accepted', async () => {
    const res = await fetch(`${server.url}/v1/models?key=${onlyKey('read')}`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: {
        code: 'unauthorized',
        message: 'an API key is required: send it as X-API-Key or Authorization: Bearer (?key= is accepted on WebSocket upgrades only)',
      },
    });
  });

  it('reads hashed keys with scopes from a keys file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-'));
    const file = path.join(dir, 'keys.json');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'camera-fleet', sha256: sha256('fleet-secret-1234'), scopes: ['ingest'] },
        { name: 'dashboard', sha256: sha256('dashboard-secret-1234').toUpperCase(), scopes: ['read', 'admin'] },
      ]),
    );
    const own = await startTestServer({ SIGHTLINE_API_KEYS_FILE: file });
    started.push(own);
    const detection = { cameraId: 'gate-1', trackId: '1', label: 'car', confidence: 0.5, detectedAt: 1710028800000 };
    const post = (key: string) =>
      fetch(`${own.url}/v1/detections`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(detection) });
    expect((await post('fleet-secret-1234')).status).toBe(201);
    expect((await post('dashboard-secret-1234')).status).toBe(403);
    expect((await post(sha256('fleet-secret-1234'))).status).toBe(401);
    const list = await fetch(`${own.url}/v1/detections`, { headers: { authorization: 'Bearer dashboard-secret-1234' } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(1);
    expect((await fetch(`${own.url}/v1/detections`, { headers: { 'x-api-key': 'fleet-secret-1234' } })).status).toBe(403);
  });

  it('names the file and the entry when the keys file is wrong', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-'));
    const write = (name: string, value: unknown) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
      return file;
    };
    const good = { name: 'a', sha256: sha256('x'), scopes: ['read'] };
    expect(() => keysFromFile(path.join(dir, 'missing.json'))).toThrow(`SIGHTLINE_API_KEYS_FILE: cannot read ${dir}/missing.json: ENOENT`);
    expect(() => keysFromFile(write('broken.json', '[{'))).toThrow(new RegExp(`^${dir}/broken.json: not valid JSON`));
    expect(() => keysFromFile(write('object.json', { keys: [] }))).toThrow(`${dir}/object.json: expected a JSON array of keys`);
    expect(() => keysFromFile(write('name.json', [{ ...good, name: 'has space' }]))).toThrow(
      `${dir}/name.json: [0].name: expected 1 to 64 letters, digits, ".", "_" or "-"`,
    );
    expect(() => keysFromFile(write('hash.json', [good, { ...good, name: 'b', sha256: 'abc' }]))).toThrow(
      `${dir}/hash.json: [1] (b).sha256: expected the 64 hex digits of the key's SHA-256`,
    );
    expect(() => keysFromFile(write('scope.json', [{ ...good, scopes: ['read', 'write'] }]))).toThrow(
      `${dir}/scope.json: [0] (a).scopes[1]: unknown scope "write"; expected one of predict, ingest, read, admin`,
    );
    expect(() => keysFromFile(write('empty.json', [{ ...good, scopes: [] }]))).toThrow(
      `${dir}/empty.json: [0] (a).scopes: expected a non-empty array of predict, ingest, read, admin`,
    );
    expect(() => keysFromFile(write('extra.json', [{ ...good, key: 'plain' }]))).toThrow(`${dir}/extra.json: [0]: unknown field "key"`);
    expect(() => keysFromFile(write('rate.json', [{ ...good, rateLimit: { rps: -1 } }]))).toThrow(
      `${dir}/rate.json: [0] (a).rateLimit.rps: expected a number of 0 or more (0: unlimited)`,
    );
    expect(() => keysFromFile(write('burst.json', [{ ...good, rateLimit: { rps: 1, burst: 0.5 } }]))).toThrow(
      `${dir}/burst.json: [0] (a).rateLimit.burst: expected an integer of 1 or more`,
    );
    expect(keysFromFile(write('ok.json', [{ ...good, rateLimit: { rps: 2.5 } }]))[0].rateLimit).toEqual({ rps: 2.5, burst: 3 });
  });

  it('refuses bad SIGHTLINE_API_KEYS entries without printing them', () => {
    expect(() => keysFromList(['long-enough-key', 'short'])).toThrow('SIGHTLINE_API_KEYS: entry 2: a key must be at least 8 characters');
    expect(() => keysFromList(['long-enough-key:read+write'])).toThrow(
      'SIGHTLINE_API_KEYS: entry 1: unknown scope "write"; expected predict, ingest, read, admin joined with +',
    );
    expect(() => keysFromList(['long enough key'])).toThrow('SIGHTLINE_API_KEYS: entry 1: a key may hold only visible ASCII characters other than "," and ":"');
    const keys = keysFromList(['long-enough-key', 'other-long-key:predict+read']);
    expect(keys.map((k) => ({ name: k.name, scopes: [...k.scopes] }))).toEqual([
      { name: 'env-1', scopes: ['predict', 'ingest', 'read', 'admin'] },
      { name: 'env-2', scopes: ['predict', 'read'] },
    ]);
    expect(keys[0].digest.toString('hex')).toBe(sha256('long-enough-key'));
  });

  it('reads key options from the environment, flags and the config file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ apiKeys: ['file-key-00001:read'], metricsPublic: false }));
    const fromFile = loadConfig({ env: { SIGHTLINE_CONFIG: 'config.json' }, cwd: dir });
    expect([fromFile.apiKeys, fromFile.metricsPublic, fromFile.apiKeysFile, fromFile.allowUnauthenticated]).toEqual([
      ['file-key-00001:read'],
      false,
      undefined,
      false,
    ]);
    const fromEnv = loadConfig({
      env: { SIGHTLINE_API_KEYS: ' a-key-000001 , b-key-000001:predict ', SIGHTLINE_API_KEYS_FILE: 'keys.json' },
      argv: ['--allow-unauthenticated'],
      cwd: dir,
    });
    expect([fromEnv.apiKeys, fromEnv.apiKeysFile, fromEnv.allowUnauthenticated, fromEnv.metricsPublic]).toEqual([
      ['a-key-000001', 'b-key-000001:predict'],
      path.join(dir, 'keys.json'),
      true,
      true,
    ]);
  });

  it('refuses to start with the same key configured twice', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-'));
    const file = path.join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify([{ name: 'ci', sha256: sha256('shared-key-1234'), scopes: ['read'] }]));
    await expect(startTestServer({ SIGHTLINE_API_KEYS: 'shared-key-1234', SIGHTLINE_API_KEYS_FILE: file })).rejects.toThrow(
      'API keys: API key "ci" is configured twice (same key as another entry)',
    );
  });
});

/** Opens a WebSocket; resolves with the open socket, or the status and body of a refused upgrade. */
function upgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket } | { status: number; body: string; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, challenge: res.headers['www-authenticate'] }));
    });
    ws.once('error', reject);
  });
}

describe('WebSocket upgrades', () => {
  const opened: WebSocket[] = [];
  afterAll(() => opened.forEach((ws) => ws.close()));
  const expectOpen = async (url: string, headers?: Record<string, string>) => {
    const r = await upgrade(url, headers);
    expect('ws' in r ? 'open' : r).toBe('open');
    if ('ws' in r) opened.push(r.ws);
    return (r as { ws: WebSocket }).ws;
  };

  it('accepts the key as X-API-Key, as Bearer and as ?key=', async () => {
    await expectOpen(`${wsBase}/v1/ws`, { 'x-api-key': onlyKey('read') });
    await expectOpen(`${wsBase}/v1/ws`, { authorization: `Bearer ${onlyKey('read')}` });
    const ws = await expectOpen(`${wsBase}/v1/ws?key=${encodeURIComponent(onlyKey('read'))}`);
    const answer = new Promise<string>((resolve) => ws.once('message', (d) => resolve(frameText(d))));
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await answer).toBe('{"type":"pong"}');
  });

  it('refuses an upgrade without a key, with a wrong key and with a key lacking the scope', async () => {
    expect(await upgrade(`${wsBase}/v1/ws`)).toEqual({
      status: 401,
      challenge: 'Bearer realm="sightline"',
      body: JSON.stringify({
        error: { code: 'unauthorized', message: 'an API key is required: send it as X-API-Key or Authorization: Bearer, or as ?key= in the URL' },
      }),
    });
    expect(await upgrade(`${wsBase}/v1/ws?key=${WRONG_KEY}`)).toMatchObject({ status: 401, challenge: 'Bearer realm="sightline", error="invalid_token"' });
    expect(await upgrade(`${wsBase}/v1/ws`, { 'x-api-key': WRONG_KEY })).toMatchObject({ status: 401 });
    expect(await upgrade(`${wsBase}/v1/ws`, { 'x-api-key': onlyKey('predict') })).toMatchObject({
      status: 403,
      challenge: 'Bearer realm="sightline", error="insufficient_scope", scope="read"',
    });
  });

  it("gives every refused upgrade an X-Request-Id, the client's own when it is a sane token", async () => {
    const refusedId = (url: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; id: string | undefined }>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('open', () => reject(new Error('upgrade accepted')));
        ws.once('unexpected-response', (_req, res: IncomingMessage) => {
          res.resume();
          resolve({ status: res.statusCode!, id: res.headers['x-request-id'] as string | undefined });
        });
        ws.once('error', reject);
      });
    const uuid = /^[0-9a-f-]{36}$/;
    const missing = await refusedId(`${wsBase}/v1/ws`);
    expect(missing.status).toBe(401);
    expect(missing.id).toMatch(uuid);
    expect(await refusedId(`${wsBase}/v1/ws`, { 'x-api-key': WRONG_KEY, 'x-request-id': 'cam-7.frame:991' })).toEqual({ status: 401, id: 'cam-7.frame:991' });
    expect(await refusedId(`${wsBase}/v1/ws`, { 'x-api-key': onlyKey('predict'), 'x-request-id': 'scope-check' })).toEqual({ status: 403, id: 'scope-check' });
    // Refused by the route itself, past the key check.
    expect(await refusedId(`${wsBase}/v1/ws/predict/nope?key=${onlyKey('predict')}`, { 'x-request-id': 'no-such-model' })).toEqual({
      status: 404,
      id: 'no-such-model',
    });
    const unsafe = await refusedId(`${wsBase}/v1/ws/predict/nope?key=${onlyKey('predict')}`, { 'x-request-id': 'bad id with spaces' });
    expect(unsafe.status).toBe(404);
    expect(unsafe.id).toMatch(uuid);
  });

  it('checks the key before the model on predict sockets, and predicts with the right one', async () => {
    expect(await upgrade(`${wsBase}/v1/ws/predict/nope`)).toMatchObject({ status: 401 });
    expect(await upgrade(`${wsBase}/v1/ws/predict/nope?key=${onlyKey('predict')}`)).toMatchObject({ status: 404 });
    expect(await upgrade(`${wsBase}/v1/ws/predict/cls?key=${onlyKey('read')}`)).toMatchObject({ status: 403 });
    const ws = await expectOpen(`${wsBase}/v1/ws/predict/cls?key=${onlyKey('predict')}`);
    const answer = new Promise<{ type: string; id: number; result: { label: string } }>((resolve) =>
      ws.once('message', (d) => resolve(JSON.parse(frameText(d)))),
    );
    ws.send(await solidImage('png', 8, 8, [0, 0, 255]));
    expect(await answer).toMatchObject({ type: 'result', id: 1, result: { label: 'blue' } });
  });
});

describe('metrics access', () => {
  it('is public by default, even with keys configured', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  it('needs the admin scope when SIGHTLINE_METRICS_PUBLIC=false', async () => {
    const own = await startTestServer({ SIGHTLINE_API_KEYS: 'admin-key-0001:admin,reader-key-0001:read', SIGHTLINE_METRICS_PUBLIC: 'false' });
    started.push(own);
    const scrape = (headers: Record<string, string> = {}) => fetch(`${own.url}/metrics`, { headers }).then((r) => r.status);
    expect([await scrape(), await scrape({ 'x-api-key': 'reader-key-0001' }), await scrape({ 'x-api-key': 'admin-key-0001' })]).toEqual([401, 403, 200]);
    expect((await fetch(`${own.url}/health/live`)).status).toBe(200);
  });
});

/** Logs collected from a server's own pino logger. */
async function loggedServer(env: Record<string, string>) {
  const { pino } = await import('pino');
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
  const own = await startTestServer(env, { logger });
  started.push(own);
  return { own, lines };
}

describe('logs', () => {
  it('never contain a key, right or wrong, from headers, Bearer or ?key=', async () => {
    const secret = 'log-secret-key-7f3a9c';
    const wrong = 'log-wrong-key-5e2b1d';
    const { own, lines } = await loggedServer({ SIGHTLINE_API_KEYS: `${secret}:read` });
    const ws = own.url.replace('http://', 'ws://');
    await fetch(`${own.url}/v1/models`, { headers: { 'x-api-key': secret } });
    await fetch(`${own.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
    await fetch(`${own.url}/v1/models`, { headers: { 'x-api-key': wrong } });
    await fetch(`${own.url}/v1/models?key=${secret}`);
    await fetch(`${own.url}/v1/nothing-here?key=${secret}`);
    const accepted = await upgrade(`${ws}/v1/ws?key=${secret}`);
    if ('ws' in accepted) accepted.ws.close();
    await upgrade(`${ws}/v1/ws?key=${wrong}`);
    await upgrade(`${ws}/v1/ws`, { authorization: `Bearer ${wrong}` });
    await expect.poll(() => lines.filter((l) => l.includes('"WebSocket upgrade refused"')).length).toBe(2);
    await expect.poll(() => lines.filter((l) => l.includes('"msg":"request"')).length).toBe(5);

    const text = lines.join('');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain('key=');
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    expect(requests.map((r) => [r.path, r.status, r.apiKey])).toEqual([
      ['/v1/models', 200, 'env-1'],
      ['/v1/models', 200, 'env-1'],
      ['/v1/models', 401, undefined],
      ['/v1/models', 401, undefined],
      ['/v1/nothing-here', 404, undefined],
    ]);
    const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'WebSocket upgrade refused');
    expect(refused.map((r) => [r.path, r.status])).toEqual([
      ['/v1/ws', 401],
      ['/v1/ws', 401],
    ]);
  });

  it('say at start whether authentication is on', async () => {
    const on = await loggedServer({ SIGHTLINE_API_KEYS: 'some-key-00001,other-key-0002:read' });
    const off = await loggedServer({});
    const startLine = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.auth !== undefined);
    expect(startLine(on.lines)).toMatchObject({ level: 30, auth: 'on', keys: 2, rateLimit: 'off', metricsPublic: true, msg: 'authentication on: 2 API keys' });
    expect(startLine(off.lines)).toMatchObject({
      level: 30,
      auth: 'off',
      rateLimit: 'off',
      msg: 'authentication off: no API keys configured, so listening on loopback (127.0.0.1) only',
    });
  });
});

describe('loopback rule', () => {
  it('knows which hosts are loopback', () => {
    const hosts = [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '::',
      '10.0.0.5',
      'example.com',
      '::ffff:10.0.0.1',
    ];
    expect(hosts.map((h) => [h, isLoopbackHost(h)])).toEqual([
      ['127.0.0.1', true],
      ['127.1.2.3', true],
      ['localhost', true],
      ['::1', true],
      ['[::1]', true],
      ['0:0:0:0:0:0:0:1', true],
      ['::ffff:127.0.0.1', true],
      ['0.0.0.0', false],
      ['::', false],
      ['10.0.0.5', false],
      ['example.com', false],
      ['::ffff:10.0.0.1', false],
    ]);
  });

  const refusal =
    'no API keys are configured, so sightline listens only on loopback, but SIGHTLINE_HOST is 0.0.0.0. ' +
    'Configure keys (SIGHTLINE_API_KEYS or SIGHTLINE_API_KEYS_FILE), listen on 127.0.0.1, ' +
    'or set SIGHTLINE_ALLOW_UNAUTHENTICATED=true to serve every route to anyone who can reach this address.';

  it('refuses to listen beyond loopback without keys', async () => {
    await expect(startTestServer({ SIGHTLINE_HOST: '0.0.0.0' })).rejects.toThrow(refusal);
  });

  it('exits 2 with the reason from the command line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-'));
    const main = path.join(repoRoot, 'dist', 'src', 'main.js');
    const err = (await promisify(execFile)(process.execPath, [main, 'serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dir, '--models-dir', dir]).catch(
      (e: unknown) => e,
    )) as {
      code: number;
      stderr: string;
    };
    expect({ code: err.code, stderr: err.stderr }).toEqual({ code: 2, stderr: `sightline: ${refusal}\n` });
  });

  it('listens beyond loopback with keys, or when told to without them (and warns)', async () => {
    const keyed = await loggedServer({ SIGHTLINE_HOST: '0.0.0.0', SIGHTLINE_API_KEYS: 'wide-key-00001' });
    expect((await fetch(`http://127.0.0.1:${keyed.own.port}/v1/models`)).status).toBe(401);
    const open = await loggedServer({ SIGHTLINE_HOST: '0.0.0.0', SIGHTLINE_ALLOW_UNAUTHENTICATED: 'true' });
    expect((await fetch(`http://127.0.0.1:${open.own.port}/v1/models`)).status).toBe(200);
    const warning = open.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.auth !== undefined);
    expect(warning).toMatchObject({
      level: 40,
      auth: 'off',
      msg: 'authentication off on 0.0.0.0 (SIGHTLINE_ALLOW_UNAUTHENTICATED): anyone who can reach it may use every route',
    });
  });
});
