import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;
let jpeg: Buffer;
let hash: string;

beforeAll(async () => {
  server = await startTestServer();
  jpeg = await solidImage('jpeg', 40, 30, [10, 200, 30]);
  hash = createHash('sha256').update(jpeg).digest('hex');
  const res = await fetch(`${server.url}/v1/detections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cameraId: 'c', trackId: 't', label: 'car', confidence: 1, detectedAt: 0, image: jpeg.toString('base64') }),
  });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await server?.close();
});

describe('GET /v1/images/{sha256}', () => {
  it('serves the stored bytes with their media type, the hash as ETag, and long caching', async () => {
    const res = await fetch(`${server.url}/v1/images/${hash}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('etag')).toBe(`"${hash}"`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(jpeg);
  });

  it('answers 304 to a matching If-None-Match, and HEAD without a body', async () => {
    const cached = await fetch(`${server.url}/v1/images/${hash}`, { headers: { 'if-none-match': `"other", "${hash}"` } });
    expect(cached.status).toBe(304);
    expect(cached.headers.get('etag')).toBe(`"${hash}"`);
    const stale = await fetch(`${server.url}/v1/images/${hash}`, { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
    const head = await fetch(`${server.url}/v1/images/${hash.toUpperCase()}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(jpeg.length));
    expect(head.headers.get('content-type')).toBe('image/jpeg');
  });

  it('answers 404 for an unknown hash and 400 for something that is not one', async () => {
    const missing = await fetch(`${server.url}/v1/images/${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: `image ${'0'.repeat(64)} not found` } });
    const bad = await fetch(`${server.url}/v1/images/..%2F..%2Fetc%2Fpasswd`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'bad_request', message: 'sha256: must be a SHA-256 hash: 64 hexadecimal digits', field: 'sha256' } });
  });
});
