import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { readRaw } from '../src/http/body/raw.js';
import { json } from '../src/http/reply.js';
import { startServer } from '../src/server.js';
import { loadUws } from '../src/http/uws.js';

/**
 * One server for the HTTP benchmark, in its own process so the load generator does not share its
 * event loop: `uws` is sightline's front end (router, body reader, request ids, error handling);
 * `node` serves the same two routes on node:http; `bare-uws` is GET /health/live alone on a bare
 * uWebSockets.js handler, the floor sightline's front end is compared with. Prints the port on stdout.
 */
const kind = process.argv[2];
const LIMIT = 1024 * 1024;

if (kind === 'uws') {
  // An empty model repository: the front end alone is measured, with no model loading or calibrating beside it.
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sightline-http-bench-'));
  const config = loadConfig({
    env: { SIGHTLINE_PORT: '0', SIGHTLINE_LOG_LEVEL: 'warn', SIGHTLINE_MODELS_DIR: scratch, SIGHTLINE_DATA_DIR: scratch },
  });
  const server = await startServer(config, {
    logger: pino({ level: 'warn' }),
    extraRoutes: [{ method: 'POST', path: '/echo-size', handler: async (ctx) => json({ bytes: (await readRaw(ctx, LIMIT)).byteLength }) }],
  });
  console.log(server.port);
} else if (kind === 'node') {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health/live') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'live' }));
    } else if (req.method === 'POST' && req.url === '/echo-size') {
      let size = 0;
      req.on('data', (chunk: Buffer) => (size += chunk.byteLength));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes: size }));
      });
    } else {
      res.writeHead(404).end();
    }
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log((server.address() as { port: number }).port));
} else if (kind === 'bare-uws') {
  const { uws } = loadUws({ allowFallback: false });
  uws
    .App()
    .get('/health/live', (res) => {
      res.cork(() => res.writeHeader('content-type', 'application/json').end('{"status":"live"}'));
    })
    .listen('127.0.0.1', 0, (socket) => {
      if (!socket) process.exit(1);
      console.log(uws.us_socket_local_port(socket));
    });
} else {
  console.error('usage: http-target.js uws|node|bare-uws');
  process.exit(2);
}

// Exit cleanly on SIGTERM so profilers (--cpu-prof) can write their output.
process.on('SIGTERM', () => process.exit(0));
