import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SharedRateLimiter, sharedWindow } from '../dist/src/http/limits/shared-rate-limiter.js';
import { solidImage } from './helpers/images.js';
import { startTestServer } from './helpers/server.js';
import { REDIS_URL, uniqueName } from './helpers/services.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const closing: Array<{ close(): Promise<void> }> = [];
afterAll(async () => {
  await Promise.all(closing.map((c) => c.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const LIMIT = { rps: 5, burst: 10 };

/** Log lines a test can read back. */
function capturedLogger() {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines, count: (msg: string) => lines.filter((l) => l.msg === msg).length };
}
const UNREACHABLE = 'rate-limit store unreachable: this replica limits with its own buckets until it is back';
const BACK = 'rate-limit store reachable again: limits are shared across replicas';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP hop to the test Redis that can be cut and restored on the same port, as an outage would;
 * `delayMs` holds every command that long, as a slow link would.
 */
class RedisHop {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly delayMs = 0) {}

  async open(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      if (this.delayMs === 0) client.pipe(upstream);
      else client.on('data', (chunk: Buffer) => setTimeout(() => upstream.write(chunk), this.delayMs));
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  close(): Promise<void> {
    return this.cut();
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A keys file naming keys no other test uses: Redis, and so every key's counters, is shared by all tests. */
function keysFile(names: string[]): { file: string; secret: (name: string) => string } {
  const secret = (name: string) => `${name}-secret`;
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-keys-')), 'keys.json');
  writeFileSync(file, JSON.stringify(names.map((name) => ({ name, sha256: sha256(secret(name)), scopes: ['read', 'ingest', 'predict'] }))));
  return { file, secret };
}

async function replica(env: Record<string, string>, options: Parameters<typeof startTestServer>[1] = {}): Promise<Server> {
  const server = await startTestServer({ SIGHTLINE_RATE_LIMIT_RPS: String(LIMIT.rps), SIGHTLINE_RATE_LIMIT_BURST: String(LIMIT.burst), ...env }, options);
  closing.push(server);
  return server;
}

describe('the Redis window a bucket maps to', () => {
  it('is burst points over burst/rps seconds, in whole seconds, keeping the rate', () => {
    expect(sharedWindow({ rps: 5, burst: 10 })).toEqual({ points: 10, durationS: 2 });
    expect(sharedWindow({ rps: 1, burst: 1 })).toEqual({ points: 1, durationS: 1 });
    expect(sharedWindow({ rps: 0.5, burst: 1 })).toEqual({ points: 1, durationS: 2 });
    expect(sharedWindow({ rps: 0.5, burst: 2 })).toEqual({ points: 2, durationS: 4 });
    // 10/3 s rounds to 3 s, which holds 9 at 3/s.
    expect(sharedWindow({ rps: 3, burst: 10 })).toEqual({ points: 9, durationS: 3 });
    // A window is at least a second: a burst under the rate becomes a second's worth.
    expect(sharedWindow({ rps: 100, burst: 10 })).toEqual({ points: 100, durationS: 1 });
  });
});

describe('shared rate limiter', () => {
  it('counts one client across limiters on the same Redis, each client apart, and answers a 0 rate at once', async () => {
    const keyPrefix = uniqueName('sightline-test:rate:');
    const a = new SharedRateLimiter({ url: REDIS_URL, logger: pino({ level: 'silent' }), keyPrefix });
    const b = new SharedRateLimiter({ url: REDIS_URL, logger: pino({ level: 'silent' }), keyPrefix });
    closing.push(a, b);
    await Promise.all([a.settled, b.settled]);
    const decisions = [];
    for (let i = 0; i < 11; i++) decisions.push(await (i % 2 === 0 ? a : b).take('client-1', LIMIT));
    expect(decisions.slice(0, 10)).toEqual(Array(10).fill({ ok: true }));
    const refused = decisions[10];
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.limit).toEqual(LIMIT);
      expect(refused.retryAfterS).toBeGreaterThan(1);
      expect(refused.retryAfterS).toBeLessThanOrEqual(2);
    }
    expect(await b.take('client-2', LIMIT)).toEqual({ ok: true });
    expect(a.take('client-1', { rps: 0, burst: 1 })).toEqual({ ok: true });
  });

  it('decides locally while Redis is unreachable, at once, warning once per outage, and shares again once it is back', async () => {
    const hop = new RedisHop();
    await hop.open();
    closing.push(hop);
    const { logger, count } = capturedLogger();
    const limiter = new SharedRateLimiter({ url: `redis://127.0.0.1:${hop.port}`, logger, keyPrefix: uniqueName('sightline-test:rate:') });
    closing.push(limiter);
    await limiter.settled;
    // A 10 s window, so the point taken now is still counted in Redis after the outage.
    const slow = { rps: 1, burst: 10 };
    expect(await limiter.take('client', slow)).toEqual({ ok: true });

    await hop.cut();
    await until(() => count(UNREACHABLE) === 1, 2000);
    const startedAt = performance.now();
    const local = [];
    for (let i = 0; i < 11; i++) local.push((await limiter.take('client', slow)).ok);
    expect(performance.now() - startedAt).toBeLessThan(500);
    // The local window knows nothing of the point taken in Redis: a full burst, then a refusal.
    expect(local).toEqual([...Array(10).fill(true), false]);
    // Reconnect attempts keep failing meanwhile; the warning stays one.
    await sleep(1200);
    expect(count(UNREACHABLE)).toBe(1);

    await hop.open();
    await until(() => count(BACK) === 1, 5000);
    // Redis still holds the point taken before the outage: 9 more, then a refusal.
    const shared = [];
    for (let i = 0; i < 10; i++) shared.push((await limiter.take('client', slow)).ok);
    expect(shared).toEqual([...Array(9).fill(true), false]);

    await hop.cut();
    await until(() => count(UNREACHABLE) === 2, 2000);
  });
});

describe('rate limits across three replicas', () => {
  const names = { burst: uniqueName('burst-'), other: uniqueName('other-'), rate: uniqueName('rate-'), socket: uniqueName('socket-') };
  const keys = keysFile(Object.values(names));
  const replicas: Server[] = [];
  const get = (i: number, name: string) => fetch(`${replicas[i % 3].url}/v1/models`, { headers: { 'x-api-key': keys.secret(name) } });

  it('let one key through exactly its burst, round-robin over the three, then answer 429 with Retry-After', async () => {
    for (let i = 0; i < 3; i++) replicas.push(await replica({ SIGHTLINE_API_KEYS_FILE: keys.file, SIGHTLINE_RATE_LIMIT_URL: REDIS_URL }));
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 30 && refused === undefined; i++) {
      const res = await get(i, names.burst);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429]);
    expect(refused!.headers.get('retry-after')).toBe('2');
    const body = (await refused!.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(new RegExp(`^rate limit of 5 requests/s \\(burst 10\\) exceeded for API key "${names.burst}"; retry in 1\\.\\d+ s$`));
    // Another key counts on its own, on every replica.
    expect([(await get(0, names.other)).status, (await get(1, names.other)).status, (await get(2, names.other)).status]).toEqual([200, 200, 200]);
  });

  it('admit no more than the rate and the burst over a few seconds, all three together', async () => {
    const startedAt = performance.now();
    let admitted = 0;
    let sent = 0;
    while (performance.now() - startedAt < 3000) if ((await get(sent++, names.rate)).status === 200) admitted++;
    const seconds = (performance.now() - startedAt) / 1000;
    expect(sent).toBeGreaterThan(60);
    // Two 2 s windows of 10 began in those 3 s: 20, under the bucket's bound of 10 + 5/s × 3 s (one
    // replica's share of three times that, were each counting alone).
    expect(admitted).toBe(20);
    expect(admitted).toBeLessThanOrEqual(LIMIT.burst + LIMIT.rps * seconds);
  });

  it('count WebSocket upgrades in the same windows, and hand the route a copy of the request', async () => {
    const upgrade = (i: number, route: string) =>
      new Promise<{ status: number; body: string } | WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`${replicas[i % 3].url.replace('http://', 'ws://')}${route}?key=${keys.secret(names.socket)}`);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res: IncomingMessage) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        ws.once('error', reject);
      });
    const opened = await upgrade(0, '/v1/ws');
    expect(opened).toBeInstanceOf(WebSocket);
    (opened as WebSocket).close();
    // The predict route reads its model from the path of the copied request.
    const missing = await upgrade(1, '/v1/ws/predict/no-such-model');
    expect(missing).not.toBeInstanceOf(WebSocket);
    expect((missing as { status: number }).status).toBe(404);
    expect((missing as { body: string }).body).toContain('no-such-model');
    for (let i = 2; i < 10; i++) expect((await get(i, names.socket)).status).toBe(200);
    const refused = await upgrade(10, '/v1/ws');
    expect(refused).not.toBeInstanceOf(WebSocket);
    expect((refused as { status: number }).status).toBe(429);
  });

  it('run a route that reads a body after the shared verdict', async () => {
    const image = await solidImage('png', 8, 6, [0, 0, 255]);
    const res = await fetch(`${replicas[2].url}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': keys.secret(names.other), 'content-type': 'image/png' },
      body: image,
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { sha256: string }).sha256).toBe(createHash('sha256').update(image).digest('hex'));
  });
});

describe('a verdict that comes after the client left', () => {
  it('runs no handler for it, and the replica goes on answering', async () => {
    const hop = new RedisHop(300);
    await hop.open();
    closing.push(hop);
    const name = uniqueName('leaving-');
    const keys = keysFile([name]);
    const server = await replica({ SIGHTLINE_API_KEYS_FILE: keys.file, SIGHTLINE_RATE_LIMIT_URL: `redis://127.0.0.1:${hop.port}` });
    const image = await solidImage('png', 7, 5, [0, 255, 0]);
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /v1/images HTTP/1.1\r\nHost: x\r\nX-API-Key: ${keys.secret(name)}\r\nContent-Type: image/png\r\nContent-Length: ${image.byteLength}\r\n\r\n`,
    );
    socket.write(image);
    await sleep(50);
    socket.destroy();
    // Past the verdict: the upload it would have let through never ran.
    await sleep(500);
    const sha = createHash('sha256').update(image).digest('hex');
    const lookup = await fetch(`${server.url}/v1/images/${sha}`, { headers: { 'x-api-key': keys.secret(name) } });
    expect(lookup.status).toBe(404);
  });
});

describe('a replica whose Redis is unreachable', () => {
  it('starts, limits with its own buckets, answers every request within a second, and warns once', async () => {
    const name = uniqueName('offline-');
    const keys = keysFile([name]);
    const { logger, count } = capturedLogger();
    const server = await replica({ SIGHTLINE_API_KEYS_FILE: keys.file, SIGHTLINE_RATE_LIMIT_URL: `redis://127.0.0.1:${await closedPort()}` }, { logger });
    const statuses: number[] = [];
    let slowest = 0;
    for (let i = 0; i < 12; i++) {
      const startedAt = performance.now();
      statuses.push((await fetch(`${server.url}/v1/models`, { headers: { 'x-api-key': keys.secret(name) } })).status);
      slowest = Math.max(slowest, performance.now() - startedAt);
    }
    expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
    expect(slowest).toBeLessThan(1000);
    expect(count(UNREACHABLE)).toBe(1);
  });
});
