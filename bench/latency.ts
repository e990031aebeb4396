import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { rawRequest, SocketPool, type Exchange } from '../src/loadgen/connection-pool.js';
import { summarise } from '../src/loadgen/latency-stats.js';
import { closedLoop, poissonLoad } from '../src/loadgen/load-loops.js';
import { loadManifest } from '../src/engine/manifest.js';
import { processRssBytes, startTarget } from './load.js';
import { measureMachineLimit } from './machine-limit.js';
import { writeResults } from './results-file.js';
import { median } from './median.js';

/**
 * sightline against the naive peer (bench/naive-server.ts: fastify + sharp + one onnxruntime-node
 * session per model on the main thread, no batching), side by side in one run. Both serve the
 * same two shipped models (text-direction, text-detect), each in its own process; the load
 * generator (src/loadgen: keep-alive sockets, closed loop or Poisson arrivals) runs here.
 * BENCH_ROUNDS rounds (default 3), interleaved (the order of the two servers alternates per
 * round); each ratio is taken per round and reported as the median with its range.
 *  - direction classifier, 192×48 PNG: closed loop at 1, 16 and 64 clients (throughput, p50, p99);
 *    open loop (Poisson) at half of sightline's saturated rate in the round;
 *  - PP-OCRv4 detector, 640×640 PNG: closed loop at 4 clients;
 *  - GET /health/live: server CPU per request, sightline against a bare uWebSockets.js handler,
 *    same generator and load;
 *  - RSS of each server (VmRSS, sampled every 100 ms during its predict runs): the peak;
 *  - sightline saturated on the classifier against this machine's limit (bench/machine-limit.ts:
 *    the cores over raw ONNX Runtime's cheapest CPU per image plus sharp's decode and resize),
 *    measured in this process before the rounds, while both servers are idle.
 * BENCH_SECONDS (per classifier run, default 3) scales every run. Writes bench/results/latency.json.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const MODELS = 'text-direction,text-detect';
const RSS_EVERY_MS = 100;

const lineSvg =
  `<svg xmlns="http://www.w3.org/2000/svg" width="192" height="48"><rect width="100%" height="100%" fill="white"/><text x="6" ` +
  `y="33" font-family="DejaVu Sans" font-size="22">Invoice 2026-11</text></svg>`;
const pageSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="640"><rect width="100%" height="100%" fill="white"/>${[
  'Invoice 2026-11',
  'Total 42.00 EUR',
  'Due 2026-12-31',
  'Thank you',
]
  .map((t, i) => `<text x="${30 + i * 20}" y="${110 + i * 140}" font-family="DejaVu Sans" font-size="${40 - i * 4}">${t}</text>`)
  .join('')}</svg>`;
const linePng = await sharp(Buffer.from(lineSvg)).png().toBuffer();
const pagePng = await sharp(Buffer.from(pageSvg)).png().toBuffer();

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-latency-'));
const sightline = await startTarget(path.join(here, 'engine-target.js'), [], {
  SIGHTLINE_MODELS_DIR: path.join(root, 'models'),
  SIGHTLINE_MODELS: MODELS,
  SIGHTLINE_DATA_DIR: dataDir,
});
const naive = await startTarget(path.join(here, 'naive-server.js'), [path.join(root, 'models'), MODELS]);
const bare = await startTarget(path.join(here, 'http-target.js'), ['bare-uws']);
type Target = typeof sightline;
const servers = { sightline, naive } as const;
type Side = keyof typeof servers;

const host = '127.0.0.1';
const predictRequest = (t: Target, model: string, body: Buffer) => rawRequest('POST', `/v1/models/${model}/predict`, `${host}:${t.port}`, body, 'image/png');
const healthRequest = (t: Target) => rawRequest('GET', '/health/live', `${host}:${t.port}`);

interface Run {
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  requests: number;
  serverCpuPerRequestUs: number;
  peakRssBytes: number;
}

function summary(t: Target, exchanges: Exchange[], elapsedMs: number, cpu0: number, rss: number[]): Run {
  const ok = exchanges.filter((e) => e.status === 200);
  const s = summarise(ok.map((e) => e.latencyMs));
  return {
    throughput: ok.length / (elapsedMs / 1000),
    p50Ms: s.p50,
    p99Ms: s.p99,
    failed: exchanges.length - ok.length,
    requests: exchanges.length,
    serverCpuPerRequestUs: ((t.cpuSeconds() - cpu0) * 1e6) / Math.max(1, ok.length),
    peakRssBytes: rss.length > 0 ? Math.max(...rss) : Number.NaN,
  };
}

/** One load run against one server, its RSS sampled throughout. */
async function measure(t: Target, load: (pool: SocketPool) => Promise<{ exchanges: Exchange[]; elapsedMs: number }>): Promise<Run> {
  const pool = new SocketPool(host, t.port, 1024);
  const rss: number[] = [];
  const timer = setInterval(() => rss.push(processRssBytes(t.child.pid!)), RSS_EVERY_MS);
  const cpu0 = t.cpuSeconds();
  try {
    const { exchanges, elapsedMs } = await load(pool);
    return summary(t, exchanges, elapsedMs, cpu0, rss);
  } finally {
    clearInterval(timer);
    pool.close();
  }
}

const closed = (t: Target, request: Buffer, clients: number, sec: number) =>
  measure(t, async (pool) => {
    const r = await closedLoop(pool, request, clients, sec * 1000);
    return { exchanges: r.exchanges, elapsedMs: r.end - r.start };
  });
const open = (t: Target, request: Buffer, rate: number, sec: number) =>
  measure(t, async (pool) => {
    const r = await poissonLoad(pool, request, () => rate, sec * 1000);
    return { exchanges: r.exchanges, elapsedMs: performance.now() - r.start };
  });

const perRound: Record<string, number[]> = {};
const note = (name: string, v: number) => (perRound[name] ??= []).push(v);
const figures: Record<string, unknown>[] = [];

const fmt = (r: Run) =>
  `${r.throughput.toFixed(1).padStart(8)} req/s  p50 ${r.p50Ms.toFixed(2).padStart(7)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms  failed ` +
  `${r.failed}  server CPU ${r.serverCpuPerRequestUs.toFixed(0)} µs/req  RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`;

const directionSpec = loadManifest(path.join(root, 'models', 'text-direction'));
const limit = await measureMachineLimit({
  file: directionSpec.file,
  input: directionSpec.input.name ?? 'x',
  item: [3, directionSpec.imageSpec.height ?? 48, directionSpec.imageSpec.width ?? 192],
  png: linePng,
});
console.log(
  `machine limit (classifier): ${limit.imagesPerSec.toFixed(0)} images/s on ${limit.cores} cores = ONNX Runtime ` +
    `${limit.ortCpuUsPerImage.toFixed(0)} µs CPU/image (${limit.ortBest.intraOpThreads} thread(s), batch ${limit.ortBest.batch}) + sharp ` +
    `${limit.sharpCpuUsPerImage.toFixed(0)} µs; ONNX Runtime alone ${limit.ortOnlyImagesPerSec.toFixed(0)}/s`,
);

try {
  // Warm-up: JIT, connections, ONNX Runtime arenas at the sizes the runs will use.
  for (const t of Object.values(servers)) {
    await closed(t, predictRequest(t, 'text-direction', linePng), 16, 1);
    await closed(t, predictRequest(t, 'text-detect', pagePng), 4, 1);
  }
  for (const t of [sightline, bare]) await closed(t, healthRequest(t), 32, 1);

  for (let round = 0; round < rounds; round++) {
    const order: Side[] = round % 2 === 0 ? ['sightline', 'naive'] : ['naive', 'sightline'];
    const r: Record<string, Record<Side, Run>> = {};
    const both = async (label: string, run: (t: Target) => Promise<Run>) => {
      const out = {} as Record<Side, Run>;
      for (const side of order) {
        out[side] = await run(servers[side]);
        console.log(`round ${round + 1}  ${label.padEnd(18)} ${side.padEnd(9)} ${fmt(out[side])}`);
      }
      r[label] = out;
      return out;
    };
    for (const clients of [1, 16, 64]) await both(`classifier c${clients}`, (t) => closed(t, predictRequest(t, 'text-direction', linePng), clients, seconds));
    const saturated = Math.max(r['classifier c16'].sightline.throughput, r['classifier c64'].sightline.throughput);
    const halfRate = saturated / 2;
    await both(`open loop ${halfRate.toFixed(0)}/s`, (t) => open(t, predictRequest(t, 'text-direction', linePng), halfRate, seconds));
    const openRun = r[`open loop ${halfRate.toFixed(0)}/s`];
    await both('detector c4', (t) => closed(t, predictRequest(t, 'text-detect', pagePng), 4, seconds * 1.5));

    const health: Record<string, Run> = {};
    for (const [name, t] of round % 2 === 0
      ? ([
          ['sightline', sightline],
          ['bare-uws', bare],
        ] as const)
      : ([
          ['bare-uws', bare],
          ['sightline', sightline],
        ] as const)) {
      health[name] = await closed(t, healthRequest(t), 32, seconds * 0.7);
      console.log(`round ${round + 1}  ${'/health/live c32'.padEnd(18)} ${name.padEnd(9)} ${fmt(health[name])}`);
    }

    const c1 = r['classifier c1'];
    const c16 = r['classifier c16'];
    const c64 = r['classifier c64'];
    const det = r['detector c4'];
    const peakRss = (side: Side) => Math.max(...Object.values(r).map((x) => x[side].peakRssBytes));
    note('latency.c1.throughput_over_naive', c1.sightline.throughput / c1.naive.throughput);
    note('latency.c1.p50_budget', 1.1 / (c1.sightline.p50Ms / c1.naive.p50Ms));
    note('latency.c16.throughput_over_naive', c16.sightline.throughput / c16.naive.throughput);
    note('latency.c16.p99_budget', 0.5 / (c16.sightline.p99Ms / c16.naive.p99Ms));
    note('latency.c64.throughput_over_naive', c64.sightline.throughput / c64.naive.throughput);
    note('latency.c64.p99_over_naive', c64.sightline.p99Ms / c64.naive.p99Ms);
    note('latency.open_loop.p99_over_naive', openRun.sightline.p99Ms / openRun.naive.p99Ms);
    note('latency.open_loop.p99_over_p50_budget', 3 / (openRun.sightline.p99Ms / openRun.sightline.p50Ms));
    note('latency.detector.c4.throughput_over_naive', det.sightline.throughput / det.naive.throughput);
    note('latency.health_over_bare_uws', health['bare-uws'].serverCpuPerRequestUs / health.sightline.serverCpuPerRequestUs);
    note('latency.health.throughput_over_bare_uws', health.sightline.throughput / health['bare-uws'].throughput);
    note('latency.saturated_over_machine_limit', saturated / limit.imagesPerSec);
    note('latency.saturated_over_raw_ort', saturated / limit.ortOnlyImagesPerSec);
    note('latency.rss_budget', 1.5 / (peakRss('sightline') / peakRss('naive')));
    figures.push({ round: round + 1, order, halfRate, runs: r, health, peakRssBytes: { sightline: peakRss('sightline'), naive: peakRss('naive') } });
  }

  const ratios: Record<string, number> = {};
  const ranges: Record<string, { median: number; min: number; max: number; rounds: number[] }> = {};
  console.log(`\nmedian (range) over ${rounds} rounds:`);
  for (const [name, values] of Object.entries(perRound)) {
    ratios[name] = median(values);
    ranges[name] = { median: ratios[name], min: Math.min(...values), max: Math.max(...values), rounds: values };
    console.log(`${name} = ${ratios[name].toFixed(2)} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`);
  }
  console.log(`wrote ${writeResults('latency', { ratios, ranges, rounds, seconds, cores: os.availableParallelism(), limit, figures })}`);
} finally {
  await Promise.all([sightline.stop(), naive.stop(), bare.stop()]);
  rmSync(dataDir, { recursive: true, force: true });
}
