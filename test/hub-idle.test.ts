import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;

beforeAll(async () => {
  // The shortest idle timeout uWS allows.
  server = await startTestServer({ SIGHTLINE_WS_IDLE_TIMEOUT_S: '8' });
});

afterAll(async () => {
  await server?.close();
});

async function connect(options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; closed: Promise<number>; pings: () => number }> {
  const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}/v1/ws`, options);
  let pings = 0;
  ws.on('ping', () => pings++);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve) => ws.once('open', resolve));
  return { ws, closed, pings: () => pings };
}

describe('idle connections', () => {
  it('pings idle clients; one that never answers is dropped, one that does stays', async () => {
    const silent = await connect({ autoPong: false });
    const alive = await connect();
    const started = Date.now();
    // No close frame: the transport is cut, which clients report as 1006.
    expect(await silent.closed).toBe(1006);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThan(4_000);
    expect(elapsed).toBeLessThan(30_000);
    expect(silent.pings()).toBeGreaterThanOrEqual(1);
    expect(alive.pings()).toBeGreaterThanOrEqual(1);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.send(JSON.stringify({ type: 'ping' }));
    const answer = await new Promise((resolve) => alive.ws.once('message', (d) => resolve(JSON.parse(frameText(d)))));
    expect(answer).toEqual({ type: 'pong' });
    alive.ws.close();
  });
});
