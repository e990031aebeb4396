import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../dist/src/config.js';
import { Admission } from '../dist/src/http/auth/admission.js';
import { KeyRing } from '../dist/src/http/auth/key-ring.js';
import { keysFromList } from '../dist/src/http/auth/key-list.js';
import { RateLimiter } from '../dist/src/http/limits/rate-limiter.js';
import { defaultBurst, TokenBucket } from '../dist/src/http/limits/token-bucket.js';
import { json } from '../dist/src/http/reply.js';
import { rawRequest } from './helpers/raw-http.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const started: Server[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

async function serve(env: Record<string, string>, options: Parameters<typeof startTestServer>[1] = {}): Promise<Server> {
  const s = await startTestServer(env, options);
  started.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Admission over local buckets decides synchronously (it is on every request's path): never a promise. */
function atOnce<T>(verdict: T | Promise<T>): T {
  if (verdict instanceof Promise) throw new Error('admission over local buckets answered with a promise');
  return verdict;
}

/** The value of one sample in Prometheus text, 0 when absent. */
async function sample(server: Server, series: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  // Every series also carries the replica label, last: the series named here leave it out.
  const line = text
    .split('\n')
    .map((l) => l.replace(/,?replica="[^"]*"\}/, '}').replace('{}', ''))
    .find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('token bucket', () => {
  it('lets a burst through, then one request per 1/rate seconds, and says how long to wait', () => {
    const bucket = new TokenBucket(3, 2, 100);
    expect([bucket.take(100), bucket.take(100), bucket.take(100)]).toEqual([0, 0, 0]);
    expect(bucket.take(100)).toBe(0.5);
    expect(bucket.take(100.2)).toBeCloseTo(0.3, 10);
    expect(bucket.take(100.5)).toBe(0);
    expect(bucket.take(100.5)).toBe(0.5);
    // Refills up to its capacity, not beyond.
    expect(bucket.isFull(110)).toBe(true);
    expect([bucket.take(110), bucket.take(110), bucket.take(110), bucket.take(110)]).toEqual([0, 0, 0, 0.5]);
  });

  it('sizes a bucket to one second of the rate, at least one request', () => {
    expect([defaultBurst(0.2), defaultBurst(1), defaultBurst(2.5), defaultBurst(10)]).toEqual([1, 1, 3, 10]);
  });
});

describe('rate limit options', () => {
  it('take fractional rates, an integer burst, and are off by default', () => {
    expect([loadConfig({ env: {} }).rateLimitRps, loadConfig({ env: {} }).rateLimitBurst]).toEqual([0, 0]);
    const config = loadConfig({ env: { SIGHTLINE_RATE_LIMIT_RPS: '0.5' }, argv: ['--rate-limit-burst', '4'] });
    expect([config.rateLimitRps, config.rateLimitBurst]).toEqual([0.5, 4]);
    expect(() => loadConfig({ env: { SIGHTLINE_RATE_LIMIT_RPS: 'fast' } })).toThrow('SIGHTLINE_RATE_LIMIT_RPS: expected a number of 0 to 1000000, got "fast"');
    expect(() => loadConfig({ env: { SIGHTLINE_RATE_LIMIT_RPS: '-1' } })).toThrow('SIGHTLINE_RATE_LIMIT_RPS: expected a number of 0 to 1000000, got "-1"');
    expect(() => loadConfig({ env: { SIGHTLINE_RATE_LIMIT_BURST: '1.5' } })).toThrow(
      'SIGHTLINE_RATE_LIMIT_BURST: expected an integer of 0 to 1000000, got "1.5"',
    );
  });
});

describe('rate limiter', () => {
  it('keeps one bucket per client and forgets refilled ones', () => {
    let now = 0;
    const limiter = new RateLimiter({ now: () => now });
    const limit = { rps: 1, burst: 1 };
    expect(limiter.take('a', limit)).toEqual({ ok: true });
    expect(limiter.take('a', limit)).toEqual({ ok: false, retryAfterS: 1, limit });
    expect(limiter.take('b', limit)).toEqual({ ok: true });
    expect(limiter.take('c', { rps: 0, burst: 1 })).toEqual({ ok: true });
    expect(limiter.trackedClients).toBe(2);
    now = 30;
    expect(limiter.take('a', limit)).toEqual({ ok: true });
    now = 61;
    // The sweep at 61 s forgets a and b, both refilled by then; only d is left.
    expect(limiter.take('d', limit)).toEqual({ ok: true });
    expect(limiter.trackedClients).toBe(1);
  });
});

describe('per-key rate limits', () => {
  it('answers 429 with Retry-After past the burst, per key, counts it, and recovers after the refill', async () => {
    const server = await serve({ SIGHTLINE_API_KEYS: 'limited-key-0001,other-key-00001', SIGHTLINE_RATE_LIMIT_RPS: '1', SIGHTLINE_RATE_LIMIT_BURST: '3' });
    const models = (key: string) => fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': key } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await models('limited-key-0001')).status);
    const refused = await models('limited-key-0001');
    statuses.push(refused.status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(/^rate limit of 1 requests\/s \(burst 3\) exceeded for API key "env-1"; retry in (0\.\d+|1) s$/);
    // Another key has its own bucket; public routes are never limited.
    expect((await models('other-key-00001')).status).toBe(200);
    const health = await Promise.all(Array.from({ length: 10 }, () => fetch(`${server.url}/health/live`).then((r) => r.status)));
    expect(health).toEqual(Array(10).fill(200));
    // Refusals are counted per route, and as requests with their status.
    expect(await sample(server, 'sightline_rate_limited_total{route="/v1/models"}')).toBe(1);
    expect(await sample(server, 'sightline_http_requests_total{route="/v1/models",method="GET",status="429"}')).toBe(1);

    await sleep(Number(refused.headers.get('retry-after')) * 1000);
    expect((await models('limited-key-0001')).status).toBe(200);
  });

  it('limits a key from the keys file by its own rate, and leaves keys without one alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-'));
    const file = path.join(dir, 'keys.json');
    const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');
    writeFileSync(
      file,
      JSON.stringify([
        { name: 'slow-client', sha256: sha256('slow-client-key-1'), scopes: ['read'], rateLimit: { rps: 0.5, burst: 2 } },
        { name: 'free-client', sha256: sha256('free-client-key-1'), scopes: ['read'] },
      ]),
    );
    const server = await serve({ SIGHTLINE_API_KEYS_FILE: file });
    const models = (key: string) => fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': key } });
    const slow = [];
    for (let i = 0; i < 3; i++) slow.push(await models('slow-client-key-1'));
    expect(slow.map((r) => r.status)).toEqual([200, 200, 429]);
    // 0.5 requests/s: the next token is up to 2 s away.
    expect(slow[2].headers.get('retry-after')).toBe('2');
    const free = [];
    for (let i = 0; i < 20; i++) free.push((await models('free-client-key-1')).status);
    expect(free).toEqual(Array(20).fill(200));
  });

  it('shares one bucket per client address when no keys are configured', async () => {
    const server = await serve({ SIGHTLINE_RATE_LIMIT_RPS: '1' });
    const first = await fetch(`${server.url}/v1/stats`);
    const second = await fetch(`${server.url}/v1/stats`);
    expect([first.status, second.status]).toEqual([200, 429]);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(
      /^rate limit of 1 requests\/s \(burst 1\) exceeded for client 127\.0\.0\.1; retry in /,
    );
  });

  it('counts WebSocket upgrades against the same bucket', async () => {
    const server = await serve({ SIGHTLINE_API_KEYS: 'socket-key-0001', SIGHTLINE_RATE_LIMIT_RPS: '0.2', SIGHTLINE_RATE_LIMIT_BURST: '1' });
    const url = `${server.url.replace('http://', 'ws://')}/v1/ws?key=socket-key-0001`;
    const attempt = () =>
      new Promise<{ status: number; retryAfter?: string } | WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res: IncomingMessage) => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string }));
        ws.once('error', reject);
      });
    const first = await attempt();
    expect(first).toBeInstanceOf(WebSocket);
    (first as WebSocket).close();
    expect(await attempt()).toEqual({ status: 429, retryAfter: '5' });
    expect((await fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': 'socket-key-0001' } })).status).toBe(429);
    expect(await sample(server, 'sightline_rate_limited_total{route="/v1/ws"}')).toBe(1);
  });
});

describe('failed authentication limits', () => {
  it('answers 429 with Retry-After once an address has spent its failures, whatever key comes next', async () => {
    const server = await serve({ SIGHTLINE_API_KEYS: 'good-key-000001', SIGHTLINE_AUTH_FAILURES_PER_MINUTE: '5' });
    const models = (headers: Record<string, string>) => fetch(`${server.url}/v1/models`, { headers });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await models({ 'x-api-key': `wrong-key-${i}-0001` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const refused = await models({ 'x-api-key': 'wrong-key-5-0001' });
    expect(refused.status).toBe(429);
    // 5 per minute: the next failure may come 12 s after the last.
    expect(refused.headers.get('retry-after')).toBe('12');
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /^rate limit of 5 per minute \(burst 5\) exceeded for failed authentications from client 127\.0\.0\.1; retry in 1[12](\.\d+)? s$/,
    );
    // A missing key and the right key are refused alike: a guess cannot be told apart from a miss.
    expect((await models({})).status).toBe(429);
    expect((await models({ 'x-api-key': 'good-key-000001' })).status).toBe(429);
    // Public routes stay open; WebSocket upgrades share the address's budget.
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    const upgrade = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}/v1/ws?key=wrong-key-ws-0001`);
      ws.once('open', () => reject(new Error('upgrade accepted')));
      ws.once('unexpected-response', (_req, res: IncomingMessage) => resolve(res.statusCode!));
      ws.once('error', reject);
    });
    expect(upgrade).toBe(429);
    expect(await sample(server, 'sightline_rate_limited_total{route="/v1/models"}')).toBe(3);
  });

  it('limits wrong keys by default: 30 failures a minute per address', async () => {
    expect(loadConfig({ env: {} }).authFailuresPerMinute).toBe(30);
    const server = await serve({ SIGHTLINE_API_KEYS: 'good-key-000001' });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': 'not-the-key-0001' } })).status);
    expect(statuses).toEqual([...Array(30).fill(401), ...Array(10).fill(429)]);
  });

  it('lets an address fail again as its budget refills, and leaves other addresses alone', () => {
    let now = 1000;
    const keys = new KeyRing(keysFromList(['good-key-000001']));
    const admission = new Admission({
      keys,
      limiter: new RateLimiter({ now: () => now }),
      rateLimit: { rps: 0, burst: 0 },
      authFailures: { limiter: new RateLimiter({ now: () => now }), limit: { rps: 2 / 60, burst: 2 } },
    });
    const status = (key: string | undefined, address = '10.0.0.1') => {
      const verdict = atOnce(admission.check('read', { route: '/v1/models', key, clientAddress: () => address }));
      return verdict.ok ? 200 : verdict.reply.status;
    };
    expect([status('wrong-key-0001'), status(undefined), status('wrong-key-0001'), status('good-key-000001')]).toEqual([401, 401, 429, 429]);
    expect([status('wrong-key-0001', '10.0.0.2'), status('good-key-000001', '10.0.0.2')]).toEqual([401, 200]);
    // One failure refills every 30 s.
    now += 30;
    expect([status('good-key-000001'), status('wrong-key-0001'), status('good-key-000001')]).toEqual([200, 401, 429]);
    // Off with a limit of 0.
    const open = new Admission({
      keys,
      limiter: new RateLimiter(),
      rateLimit: { rps: 0, burst: 0 },
      authFailures: { limiter: new RateLimiter(), limit: { rps: 0, burst: 0 } },
    });
    expect(
      Array.from({ length: 50 }, () => {
        const verdict = atOnce(open.check('read', { route: '/v1/models', key: 'wrong-key-0001', clientAddress: () => '10.0.0.1' }));
        return verdict.ok ? 200 : verdict.reply.status;
      }),
    ).toEqual(Array(50).fill(401));
  });
});

describe('per-connection concurrency', () => {
  it('runs one request at a time per HTTP connection: a request pipelined behind a pending one closes the connection', async () => {
    let running = 0;
    let peak = 0;
    let calls = 0;
    const slow = {
      method: 'GET' as const,
      path: '/t/slow',
      handler: async () => {
        calls++;
        peak = Math.max(peak, ++running);
        await sleep(150);
        running--;
        return json({ ok: true });
      },
    };
    const server = await serve({}, { extraRoutes: [slow] });
    const request = 'GET /t/slow HTTP/1.1\r\nHost: x\r\n\r\n';
    // Sequential requests on a kept-alive connection are fine.
    const one = await rawRequest(server.port, request);
    expect([one.status, one.body, one.closed]).toEqual([200, '{"ok":true}', false]);
    // Pipelined: the second arrives while the first is pending; the transport closes the connection.
    await expect(rawRequest(server.port, request.repeat(3), { timeoutMs: 1000 })).rejects.toThrow('no HTTP response received: ""');
    await sleep(200);
    expect({ calls, peak, running }).toEqual({ calls: 2, peak: 1, running: 0 });
    expect((await fetch(`${server.url}/t/slow`)).status).toBe(200);
  });
});
