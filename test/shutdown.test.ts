import { describe, expect, it } from 'vitest';
import { json } from '../dist/src/http/reply.js';
import { startTestServer } from './helpers/server.js';

describe('graceful shutdown', () => {
  it('finishes a request in flight, then stops accepting', async () => {
    let release!: () => void;
    const server = await startTestServer(
      {},
      {
        extraRoutes: [{ method: 'GET', path: '/t/slow', handler: () => new Promise((resolve) => (release = () => resolve(json({ slow: 'done' })))) }],
      },
    );
    const pending = fetch(`${server.url}/t/slow`);
    while (server.http.requestsInFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = server.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ slow: 'done' });
    await closing;
    expect(server.http.requestsInFlight).toBe(0);
  });

  it('gives up on requests past the deadline', async () => {
    const server = await startTestServer(
      { SIGHTLINE_SHUTDOWN_TIMEOUT_MS: '100' },
      {
        extraRoutes: [{ method: 'GET', path: '/t/never', handler: () => new Promise(() => {}) }],
      },
    );
    void fetch(`${server.url}/t/never`).catch(() => {});
    while (server.http.requestsInFlight === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    const result = await server.http.close(100);
    expect(result).toEqual({ drained: false, abandoned: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });
});
