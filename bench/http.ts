import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawRequest } from '../src/loadgen/connection-pool.js';
import { runLoad, startTarget, type LoadResult } from './load.js';
import { pipelinedLoad } from './pipelined-load.js';
import { writeResults } from './results-file.js';

/**
 * uWebSockets.js front end vs node:http, side by side in one run: GET /health/live and a 64 KiB
 * POST whose size is echoed. Each server runs in its own process; the load runs here.
 * BENCH_DURATION (seconds per run, default 5), BENCH_CONNECTIONS (default 50) and BENCH_PIPELINING
 * (GET requests in flight per connection, default 10) tune it. The GET runs use the pipelined
 * generator of bench/pipelined-load.ts: autocannon, even pipelined, spends a whole core of these two
 * before uWebSockets.js runs out, so it measured itself. The POST runs use autocannon.
 */
const durationSec = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const pipelining = Number(process.env.BENCH_PIPELINING ?? 10);
const target = path.join(path.dirname(fileURLToPath(import.meta.url)), 'http-target.js');
const body = Buffer.alloc(64 * 1024, 0x61);

type Measured = LoadResult & { serverCpu: number };
const results: Record<string, Record<string, Measured>> = { get: {}, post64k: {} };

/** Adds the server process's CPU use (fraction of one core) to a load run. */
async function measured(server: { cpuSeconds(): number }, load: () => Promise<LoadResult>): Promise<Measured> {
  const cpu0 = server.cpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = await load();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ...r, serverCpu: (server.cpuSeconds() - cpu0) / wall };
}
for (const kind of ['uws', 'node'] as const) {
  const server = await startTarget(target, [kind]);
  const base = `http://127.0.0.1:${server.port}`;
  const get = { host: '127.0.0.1', port: server.port, request: rawRequest('GET', '/health/live', `127.0.0.1:${server.port}`), connections, depth: pipelining };
  // Warm up JIT and connections before measuring.
  await pipelinedLoad({ ...get, durationSec: 1 });
  results.get[kind] = await measured(server, async () => {
    const r = await pipelinedLoad({ ...get, durationSec });
    // Pipelined answers have no per-request latency worth reporting.
    return { ...r, p50Ms: Number.NaN, p99Ms: Number.NaN, total: r.answered + r.non2xx };
  });
  results.post64k[kind] = await measured(server, () =>
    runLoad({ url: `${base}/echo-size`, method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, connections, durationSec }),
  );
  await server.stop();
}

// Requests served per CPU-second of the server process: what each front end costs, whatever share
// of the two cores the load generator leaves it.
const perCpu = (r: Measured) => r.requestsPerSec / Math.max(r.serverCpu, 0.01);
const ratios = {
  'http.get.uws_over_node': results.get.uws.requestsPerSec / results.get.node.requestsPerSec,
  'http.post64k.uws_over_node': results.post64k.uws.requestsPerSec / results.post64k.node.requestsPerSec,
  'http.get.per_cpu_uws_over_node': perCpu(results.get.uws) / perCpu(results.get.node),
};
console.log(`connections ${connections}, GET pipelining ${pipelining}, ${durationSec}s per run`);
console.log('route        server  req/s      p50 ms  p99 ms  errors  server CPU  load-gen CPU');
for (const [route, byKind] of Object.entries(results)) {
  for (const [kind, r] of Object.entries(byKind)) {
    console.log(
      `${route.padEnd(12)} ${kind.padEnd(7)} ${r.requestsPerSec.toFixed(0).padStart(9)}  ${String(r.p50Ms).padStart(6)}  ` +
        `${String(r.p99Ms).padStart(6)}  ${String(r.errors + r.non2xx).padStart(6)}  ${(r.serverCpu * 100).toFixed(0).padStart(9)}%  ` +
        `${(r.loadGenCpu * 100).toFixed(0)}%`,
    );
  }
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
console.log(`wrote ${writeResults('http', { ratios, connections, pipelining, durationSec, results })}`);
