import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadManifest } from '../src/engine/manifest.js';
import { startEngineOnRepository } from './engine-on-repository.js';
import { runLoad, type LoadResult } from './load.js';
import { median } from './median.js';
import { writeResults } from './results-file.js';

/**
 * The Open Inference Protocol against /v1 predict, on one model in one run: the shipped text
 * direction classifier (3 × 48 × 192 float32, NCHW) at saturation, closed loop, each form in
 * alternating rounds against one server:
 *  - `v1`: POST /v1/models/text-direction/predict with a 192 × 48 PNG text line (decode, resize, head);
 *  - `tensor`: POST /v2/…/infer with that line already as the model's input, binary tensor data
 *    ([1, 3, 48, 192] FP32 after the JSON header; the logits back as binary data);
 *  - `image`: POST /v2/…/infer with the PNG as a BYTES input (the full image path, the answer as JSON in a BYTES output).
 * Server CPU per request is reported beside the rates: on a machine shared with other work it
 * varies less than wall-clock throughput.
 *
 * BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (rounds of the three, default 3),
 * BENCH_CONNECTIONS (default 32), BENCH_CALIBRATE (default true: the model's instances, threads
 * and batching as calibration chooses them at load).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const durationSec = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const calibrate = process.env.BENCH_CALIBRATE !== 'false';
const MODEL = 'text-direction';

/** The shipped manifest with its package file by absolute path, in a repository of its own. */
function repository(): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-kserve-'));
  const spec = loadManifest(path.join(root, 'models', MODEL));
  const manifest = JSON.parse(readFileSync(spec.manifestPath, 'utf8')) as Record<string, unknown>;
  mkdirSync(path.join(repo, MODEL));
  writeFileSync(path.join(repo, MODEL, 'model.json'), JSON.stringify({ ...manifest, file: spec.file }));
  return repo;
}

/** A 192 × 48 text line, and the same line as the model's input (BGR planes, (v/255 − 0.5) / 0.5). */
async function line(): Promise<{ png: Buffer; tensor: Float32Array }> {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="192" height="48"><rect width="100%" height="100%" fill="white"/>' +
    '<text x="8" y="34" font-family="DejaVu Sans" font-size="26" fill="black">total 482</text></svg>';
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const plane = 48 * 192;
  const tensor = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) tensor[c * plane + p] = (data[p * 3 + (2 - c)] / 255 - 0.5) / 0.5;
  }
  return { png, tensor };
}

/** A binary inference request: the JSON header, then the tensor's bytes; the output asked back as binary data. */
function binaryRequest(tensor: Float32Array): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'x', shape: [1, 3, 48, 192], datatype: 'FP32', parameters: { binary_data_size: tensor.byteLength } }],
      outputs: [{ name: 'softmax_0.tmp_0', parameters: { binary_data: true } }],
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(tensor.buffer)]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) },
  };
}

/** A BYTES image input, binary: its one element's 4-byte length, then the PNG. */
function imageRequest(png: Buffer): { body: Buffer; headers: Record<string, string> } {
  const element = Buffer.alloc(4 + png.byteLength);
  element.writeUInt32LE(png.byteLength, 0);
  png.copy(element, 4);
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: element.byteLength } }] }),
  );
  return { body: Buffer.concat([header, element]), headers: { 'inference-header-content-length': String(header.byteLength) } };
}

type Measured = LoadResult & { serverCpuMsPerRequest: number };

const repo = repository();
const server = await startEngineOnRepository(repo, calibrate);
const base = `http://127.0.0.1:${server.port}`;
const { png, tensor } = await line();
const forms = {
  v1: { url: `${base}/v1/models/${MODEL}/predict`, body: png, headers: { 'content-type': 'image/png' } },
  tensor: { url: `${base}/v2/models/${MODEL}/infer`, ...binaryRequest(tensor) },
  image: { url: `${base}/v2/models/${MODEL}/infer`, ...imageRequest(png) },
} as const;
type Form = keyof typeof forms;

async function run(form: Form, seconds: number): Promise<Measured> {
  const f = forms[form];
  const cpu0 = server.cpuSeconds();
  const r = await runLoad({ url: f.url, method: 'POST', body: f.body, headers: f.headers, connections, durationSec: seconds });
  const cpuMs = (server.cpuSeconds() - cpu0) * 1000;
  return { ...r, serverCpuMsPerRequest: cpuMs / Math.max(1, r.requestsPerSec * seconds) };
}

const ratios: Record<string, number> = {};
const runs: Record<Form, Measured[]> = { v1: [], tensor: [], image: [] };
try {
  // The two forms answer the same line alike: the tensor's logits match the head's probabilities.
  const check = await (await fetch(forms.v1.url, { method: 'POST', body: png, headers: forms.v1.headers })).json();
  console.log(`v1 answer: ${JSON.stringify(check)}`);
  for (const form of Object.keys(forms) as Form[]) await run(form, 1);
  const order: Form[] = ['v1', 'tensor', 'image'];
  for (let r = 0; r < rounds; r++) {
    // Rotating which goes first, so a drift in the machine's load falls on each alike.
    for (let k = 0; k < order.length; k++) {
      const form = order[(k + r) % order.length];
      runs[form].push(await run(form, durationSec));
    }
  }
  const stats = (await (await fetch(`${base}/v2/models/${MODEL}/stats`)).json()) as {
    model_stats: Array<{ batch_stats: Array<{ batch_size: number; compute_infer: { count: number } }> }>;
  };
  const sizes = Object.fromEntries(stats.model_stats[0].batch_stats.map((b) => [b.batch_size, b.compute_infer.count]));
  console.log(`connections ${connections}, ${durationSec}s per run, ${rounds} rounds; batches by size over the whole run: ${JSON.stringify(sizes)}`);
  console.log('form     req/s     p50 ms  p99 ms  non-2xx  server CPU ms/req');
  for (const form of order) {
    const rs = runs[form];
    const at = (f: (x: Measured) => number) => median(rs.map(f));
    const rate = at((x) => x.requestsPerSec).toFixed(0);
    const refused = rs.reduce((a, x) => a + x.non2xx + x.errors, 0);
    const cpu = at((x) => x.serverCpuMsPerRequest).toFixed(2);
    const latency = `${String(at((x) => x.p50Ms)).padStart(7)}  ${String(at((x) => x.p99Ms)).padStart(6)}`;
    console.log(`${form.padEnd(7)} ${rate.padStart(7)}  ${latency}  ${String(refused).padStart(7)}  ${cpu.padStart(17)}`);
  }
  const pairs = (a: Form, b: Form, f: (x: Measured, y: Measured) => number) => median(runs[a].map((x, i) => f(x, runs[b][i])));
  ratios['kserve.tensor_over_v1.requests_per_sec'] = pairs('tensor', 'v1', (x, y) => x.requestsPerSec / y.requestsPerSec);
  ratios['kserve.tensor_over_v1.requests_per_cpu_second'] = pairs('tensor', 'v1', (x, y) => y.serverCpuMsPerRequest / x.serverCpuMsPerRequest);
  ratios['kserve.image_over_v1.requests_per_sec'] = pairs('image', 'v1', (x, y) => x.requestsPerSec / y.requestsPerSec);
  ratios['kserve.image_over_v1.requests_per_cpu_second'] = pairs('image', 'v1', (x, y) => y.serverCpuMsPerRequest / x.serverCpuMsPerRequest);
} finally {
  await server.stop();
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
console.log(`wrote ${writeResults('kserve', { ratios, durationSec, rounds, connections, calibrate, cores: os.availableParallelism(), runs })}`);
