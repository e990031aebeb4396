import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openModel, type LoadedModel } from '../src/backends/index.js';
import { loadManifest, type ModelSpec } from '../src/engine/manifest.js';
import { runLoad, startTarget, type LoadResult } from './load.js';
import { openLoop } from './open-loop.js';
import { writeResults } from './results-file.js';

/**
 * Two models end to end, in one run.
 * ONNX Runtime, the direction classifier:
 *  (a) raw in this process at batch 1 and at the best batch size;
 *  (b) HTTP predict at saturation with dynamic batching on and off (same load, same concurrency);
 *  (c) p50/p99 with batching on at about half of its saturation rate, offered open-loop (Poisson arrivals).
 * TensorFlow.js, the content-safety MobileNetV2: (a) and (b) likewise.
 * BENCH_DURATION (seconds per HTTP run, default 6), BENCH_RAW_SECONDS (per batch size of the raw sweeps), BENCH_CONNECTIONS (default 32; 16 for the
 * slower TensorFlow.js model) and BENCH_PARTS (`onnx,tfjs`) tune it. BENCH_DEVICE=cuda runs every
 * model with `device: "cuda", strict: true` (a model that cannot use CUDA fails the run) and writes
 * bench/results/engine-cuda.json with `cuda.`-prefixed ratios, so CPU thresholds are not mixed up.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const durationSec = Number(process.env.BENCH_DURATION ?? 6);
/** Seconds per batch size of the raw in-process sweeps (default 2 for ONNX Runtime, 3 for TensorFlow.js). */
const rawSeconds = process.env.BENCH_RAW_SECONDS === undefined ? undefined : Number(process.env.BENCH_RAW_SECONDS);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const tfjsConnections = Number(process.env.BENCH_TFJS_CONNECTIONS ?? 16);
const parts = new Set((process.env.BENCH_PARTS ?? 'onnx,tfjs').split(',').map((p) => p.trim()));
const device = process.env.BENCH_DEVICE === 'cuda' ? 'cuda' : 'cpu';
const ratioPrefix = device === 'cuda' ? 'cuda.' : '';
const onDevice = (spec: ModelSpec): ModelSpec => (device === 'cuda' ? { ...spec, device: 'cuda', strict: true } : spec);

/** Images per second of one loaded model at one batch size, over about `seconds` (at least two runs). */
async function rawThroughput(
  model: LoadedModel,
  inputName: string,
  itemDims: number[],
  fill: (i: number) => number,
  batch: number,
  seconds: number,
): Promise<number> {
  const per = itemDims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * per).map((_, i) => fill(i));
  const input = { dims: [batch, ...itemDims], data };
  for (let i = 0; i < 2; i++) await model.run(inputName, input);
  let images = 0;
  let runs = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < end || runs < 2) {
    await model.run(inputName, input);
    images += batch;
    runs++;
  }
  return images / ((performance.now() - t0) / 1000);
}

async function rawSweep(spec: ModelSpec, itemDims: number[], fill: (i: number) => number, batches: number[], seconds: number) {
  const model = await openModel(onDevice(spec));
  const inputName = spec.input.name ?? model.info.inputNames[0];
  console.log(`raw ${model.info.runtime}, ${spec.name} ${itemDims.join('×')}, threads ${model.info.intraOpThreads}`);
  const raw: Record<number, number> = {};
  for (const batch of batches) {
    raw[batch] = await rawThroughput(model, inputName, itemDims, fill, batch, seconds);
    console.log(`  batch ${String(batch).padStart(2)}: ${raw[batch].toFixed(1)} images/s`);
  }
  await model.release();
  const bestBatch = Number(Object.entries(raw).sort((a, b) => b[1] - a[1])[0][0]);
  return { raw, bestBatch, runtime: model.info.runtime };
}

/** A model repository with the shipped manifest twice over the same file: batching as shipped, and off. */
function batchingRepo(spec: ModelSpec): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-'));
  const manifest = JSON.parse(readFileSync(spec.manifestPath, 'utf8')) as Record<string, unknown>;
  manifest.file = spec.file;
  // Label files are resolved against the manifest's folder; the copies carry the labels themselves.
  manifest.head = spec.head;
  if (device === 'cuda') Object.assign(manifest, { device: 'cuda', strict: true });
  for (const [name, batching] of [
    ['batched', manifest.batching],
    ['unbatched', { maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: 1024 }],
  ] as const) {
    mkdirSync(path.join(repo, name));
    writeFileSync(path.join(repo, name, 'model.json'), JSON.stringify({ ...manifest, batching }));
  }
  return repo;
}

type Measured = LoadResult & { serverCpu: number };
type Server = Awaited<ReturnType<typeof startTarget>>;

async function measured(server: Server, load: () => Promise<LoadResult>): Promise<Measured> {
  const cpu0 = server.cpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = await load();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ...r, serverCpu: (server.cpuSeconds() - cpu0) / wall };
}

/** Batching on and off at saturation, plus (optionally) open-loop latency at half of the batched rate. */
async function httpRuns(spec: ModelSpec, body: Buffer, conns: number, withHalfLoad: boolean) {
  const repo = batchingRepo(spec);
  const server = await startTarget(path.join(here, 'engine-target.js'), [], { SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATA_DIR: repo });
  const base = `http://127.0.0.1:${server.port}`;
  const predict = (model: string, extra: Partial<Parameters<typeof runLoad>[0]> = {}) =>
    runLoad({
      url: `${base}/v1/models/${model}/predict`,
      method: 'POST',
      body,
      headers: { 'content-type': 'image/png' },
      connections: conns,
      durationSec,
      ...extra,
    });
  try {
    await predict('batched', { durationSec: 1 });
    await predict('unbatched', { durationSec: 1 });
    const on = await measured(server, () => predict('batched'));
    const off = await measured(server, () => predict('unbatched'));
    let half;
    let halfRate;
    if (withHalfLoad) {
      halfRate = Math.max(1, Math.round(on.requestsPerSec / 2));
      half = await openLoop({ url: `${base}/v1/models/batched/predict`, body, contentType: 'image/png', rate: halfRate, durationSec });
    }
    const detail = (await (await fetch(`${base}/v1/models/batched`)).json()) as {
      device: { runtime: string };
      statistics: { batchSizeHistogram: Record<string, number> };
    };
    return { on, off, half, halfRate, runtime: detail.device.runtime, batchSizeHistogram: detail.statistics.batchSizeHistogram };
  } finally {
    await server.stop();
  }
}

const row = (name: string, r: Measured) =>
  `${name.padEnd(26)} ${r.requestsPerSec.toFixed(1).padStart(7)} req/s  p50 ${String(r.p50Ms).padStart(4)} ms  p99 ` +
  `${String(r.p99Ms).padStart(4)} ms  errors ${r.errors + r.non2xx}  server CPU ${(r.serverCpu * 100).toFixed(0)}%  load-gen CPU ` +
  `${(r.loadGenCpu * 100).toFixed(0)}%`;

const ratios: Record<string, number> = {};
const results: Record<string, unknown> = { device, connections, durationSec };

if (parts.has('onnx')) {
  const spec = loadManifest(path.join(root, 'models', 'text-direction'));
  const [H, W] = [spec.imageSpec.height!, spec.imageSpec.width!];
  const { raw, bestBatch, runtime } = await rawSweep(spec, [3, H, W], (i) => ((i * 7919) % 255) / 127.5 - 1, [1, 2, 4, 8, 16, 32], rawSeconds ?? 2);

  // A real text line as PNG, decoded and resized by the server for every request.
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="48"><rect width="100%" height="100%" fill="white"/><text x="8" ` +
    `y="34" font-family="DejaVu Sans" font-size="26">Invoice 2026-11 total</text></svg>`;
  const body = await sharp(Buffer.from(svg)).png().toBuffer();
  const http = await httpRuns(spec, body, connections, true);
  const { on, off, half, halfRate } = http;

  ratios[`${ratioPrefix}engine.batching_on_over_off`] = on.requestsPerSec / off.requestsPerSec;
  ratios[`${ratioPrefix}engine.http_batched_over_raw_best`] = on.requestsPerSec / raw[bestBatch];
  ratios[`${ratioPrefix}engine.half_load_p99_budget`] = 3 / (half!.p99Ms / Math.max(half!.p50Ms, 0.001));
  console.log(`\nHTTP predict (${http.runtime}), ${connections} connections, ${durationSec}s per run`);
  console.log(row('batching on (saturation)', on));
  console.log(row('batching off (saturation)', off));
  console.log(
    `batching on, open loop at ${halfRate} req/s: achieved ${half!.achievedRate.toFixed(0)} req/s  p50 ${half!.p50Ms.toFixed(1)} ms  p99 ` +
      `${half!.p99Ms.toFixed(1)} ms  failed ${half!.failed}`,
  );
  console.log(`batch sizes run (batching on): ${JSON.stringify(http.batchSizeHistogram)}`);
  console.log(`raw best batch ${bestBatch}: ${raw[bestBatch].toFixed(0)} images/s; raw batch 1: ${raw[1].toFixed(0)} images/s\n`);
  Object.assign(results, { runtime, raw, bestBatch, http: { on, off, half, halfRate }, batchSizeHistogram: http.batchSizeHistogram });
}

if (parts.has('tfjs')) {
  const spec = loadManifest(path.join(root, 'models', 'content-safety'));
  const [H, W] = [spec.imageSpec.height!, spec.imageSpec.width!];
  const { raw, bestBatch, runtime } = await rawSweep(spec, [H, W, 3], (i) => ((i * 7919) % 255) / 255, [1, 2, 4, 8, 16], rawSeconds ?? 3);

  // A flat drawing at a photo-like size: the server decodes it and resizes it to 224×224 every time.
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480" viewBox="0 0 224 224" preserveAspectRatio="none"><rect ` +
    `width="224" height="224" fill="#8fd3ff"/><circle cx="180" cy="40" r="24" fill="#ffd400" stroke="#000" stroke-width="4"/><rect y="160" ` +
    `width="224" height="64" fill="#5cc85c"/><rect x="50" y="100" width="90" height="70" fill="#ff6b6b" stroke="#000" ` +
    `stroke-width="5"/><polygon points="40,102 95,55 150,102" fill="#b35900" stroke="#000" stroke-width="5"/></svg>`;
  const body = await sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();
  const http = await httpRuns(spec, body, tfjsConnections, false);
  const { on, off } = http;

  ratios[`${ratioPrefix}engine.tfjs.batching_on_over_off`] = on.requestsPerSec / off.requestsPerSec;
  ratios[`${ratioPrefix}engine.tfjs.http_batched_over_raw_best`] = on.requestsPerSec / raw[bestBatch];
  console.log(`\nHTTP predict (${http.runtime}), ${tfjsConnections} connections, ${durationSec}s per run`);
  console.log(row('batching on (saturation)', on));
  console.log(row('batching off (saturation)', off));
  console.log(`batch sizes run (batching on): ${JSON.stringify(http.batchSizeHistogram)}`);
  console.log(`raw best batch ${bestBatch}: ${raw[bestBatch].toFixed(1)} images/s; raw batch 1: ${raw[1].toFixed(1)} images/s\n`);
  results.tfjs = { runtime, connections: tfjsConnections, raw, bestBatch, http: { on, off }, batchSizeHistogram: http.batchSizeHistogram };
}

for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
console.log(`wrote ${writeResults(device === 'cuda' ? 'engine-cuda' : 'engine', { ratios, ...results })}`);
