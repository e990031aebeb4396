import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadManifest } from '../src/engine/manifest.js';
import { startEngineOnRepository } from './engine-on-repository.js';
import { median } from './median.js';
import { writeResults } from './results-file.js';

/**
 * OCR pages through the shipped `ocr` pipeline over HTTP, closed loop at 1 and 8 concurrent
 * clients: pages/s and lines/s with the crops of concurrent requests batched together (`ocr`, as
 * shipped) and kept apart (`ocr-solo`, the same manifest with `batchAcrossRequests: false`: each
 * request's crops batch only with each other), in alternating runs against one server, plus the
 * time split by step from the answers' `latencyMs.steps`.
 *
 * The server calibrates its models at load as it does by default (a model whose batches measure
 * no cheaper per image than single images gets maxBatchSize 1); BENCH_CALIBRATE=false keeps the
 * batching the manifests write instead. Server CPU per page is reported beside the rates: on a
 * machine shared with other work it varies less than wall-clock throughput.
 *
 * BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (on/off pairs per client count,
 * default 3), BENCH_LINES (text lines per page, default 2), BENCH_CLIENTS (default "1,8").
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const durationSec = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const linesPerPage = Math.max(1, Number(process.env.BENCH_LINES ?? 2));
const clientCounts = (process.env.BENCH_CLIENTS ?? '1,8').split(',').map(Number);
const calibrate = process.env.BENCH_CALIBRATE !== 'false';

/** The shipped OCR models and pipeline, with package files by absolute path, plus `ocr-solo`. */
function ocrRepo(): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-pipelines-'));
  for (const name of ['text-detect', 'text-direction', 'text-recognize']) {
    const spec = loadManifest(path.join(root, 'models', name));
    const manifest = JSON.parse(readFileSync(spec.manifestPath, 'utf8')) as Record<string, unknown>;
    // Head files (the charset) are resolved against the manifest's folder; the copies carry them inline.
    Object.assign(manifest, { file: spec.file, head: spec.head });
    mkdirSync(path.join(repo, name));
    writeFileSync(path.join(repo, name, 'model.json'), JSON.stringify(manifest));
  }
  const ocr = JSON.parse(readFileSync(path.join(root, 'models', 'ocr', 'model.json'), 'utf8')) as Record<string, unknown>;
  for (const [name, manifest] of [
    ['ocr', ocr],
    ['ocr-solo', { ...ocr, batchAcrossRequests: false }],
  ] as const) {
    mkdirSync(path.join(repo, name));
    writeFileSync(path.join(repo, name, 'model.json'), JSON.stringify(manifest));
  }
  return repo;
}

const WORDS = [
  'invoice',
  'total',
  'due',
  'order',
  'number',
  'paid',
  'amount',
  'date',
  'customer',
  'delivery',
  'address',
  'account',
  'tax',
  'net',
  'price',
  'item',
];

/** Pages of `lines` short lines each (two to four words and a number), black DejaVu Sans on white. */
async function pages(count: number, lines: number): Promise<Array<{ png: Buffer; text: string }>> {
  const out = [];
  for (let p = 0; p < count; p++) {
    const texts = Array.from({ length: lines }, (_, l) => {
      const n = 2 + ((p + l) % 3);
      const words = Array.from({ length: n }, (_, w) => WORDS[(p * 7 + l * 5 + w * 3) % WORDS.length]);
      return `${words.join(' ')} ${100 + ((p * 37 + l * 11) % 900)}`;
    });
    const height = 40 + lines * 48;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="${height}"><rect width="100%" height="100%" fill="white"/>${texts
      .map((t, l) => `<text x="24" y="${56 + l * 48}" font-family="DejaVu Sans" font-size="26" fill="black">${t}</text>`)
      .join('')}</svg>`;
    out.push({ png: await sharp(Buffer.from(svg)).png().toBuffer(), text: texts.join('\n') });
  }
  return out;
}

type StepTime = { ms: number; queueMs?: number; inferMs?: number; meanBatchSize?: number };
interface Run {
  pagesPerSec: number;
  linesPerSec: number;
  /** Pages whose text came back exactly as rendered. */
  exact: number;
  failed: number;
  p50Ms: number;
  /** Server CPU (all its threads) per page answered, in ms. */
  serverCpuMsPerPage: number;
  /** Mean over answers of each step's time, queue wait, worker time and batch size. */
  steps: Record<string, { ms: number; queueMs?: number; inferMs?: number; meanBatchSize?: number }>;
}

/** `clients` loops posting pages one after another for `seconds`; answers are checked against the rendered text. */
async function closedLoop(url: string, book: Array<{ png: Buffer; text: string }>, clients: number, seconds: number): Promise<Run> {
  const cpu0 = server.cpuSeconds();
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  const sums: Record<string, { n: number; ms: number; queueMs: number; inferMs: number; batch: number; models: number }> = {};
  let pagesDone = 0;
  let lines = 0;
  let exact = 0;
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const page = book[next++ % book.length];
        const started = performance.now();
        const res = await fetch(url, { method: 'POST', body: page.png, headers: { 'content-type': 'image/png' } });
        const body = (await res.json()) as { text?: string; lines?: unknown[]; latencyMs?: { steps: Record<string, StepTime> } };
        if (res.status !== 200) {
          failed++;
          continue;
        }
        latencies.push(performance.now() - started);
        pagesDone++;
        lines += body.lines!.length;
        if (body.text === page.text) exact++;
        for (const [id, s] of Object.entries(body.latencyMs!.steps)) {
          const sum = (sums[id] ??= { n: 0, ms: 0, queueMs: 0, inferMs: 0, batch: 0, models: 0 });
          sum.n++;
          sum.ms += s.ms;
          if (s.inferMs !== undefined) {
            sum.models++;
            sum.queueMs += s.queueMs ?? 0;
            sum.inferMs += s.inferMs;
            sum.batch += s.meanBatchSize ?? 0;
          }
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpuMs = (server.cpuSeconds() - cpu0) * 1000;
  latencies.sort((a, b) => a - b);
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const steps: Run['steps'] = {};
  for (const [id, s] of Object.entries(sums)) {
    steps[id] = {
      ms: r1(s.ms / s.n),
      ...(s.models > 0 ? { queueMs: r1(s.queueMs / s.models), inferMs: r1(s.inferMs / s.models), meanBatchSize: r1(s.batch / s.models) } : {}),
    };
  }
  return {
    pagesPerSec: pagesDone / wall,
    linesPerSec: lines / wall,
    exact: pagesDone === 0 ? 0 : exact / pagesDone,
    failed,
    p50Ms: r1(latencies[latencies.length >> 1] ?? NaN),
    serverCpuMsPerPage: r1(cpuMs / Math.max(1, pagesDone)),
    steps,
  };
}

const repo = ocrRepo();
const server = await startEngineOnRepository(repo, calibrate);
const base = `http://127.0.0.1:${server.port}`;
const book = await pages(24, linesPerPage);
const ratios: Record<string, number> = {};
const results: Record<string, unknown> = { durationSec, rounds, linesPerPage, calibrate, cores: os.availableParallelism() };
try {
  const url = (model: string) => `${base}/v1/models/${model}/predict`;
  await closedLoop(url('ocr'), book, 8, 1);
  await closedLoop(url('ocr-solo'), book, 8, 1);
  const byClients: Record<string, unknown> = {};
  for (const clients of clientCounts) {
    const on: Run[] = [];
    const off: Run[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternating which goes first, so a drift in the machine's load falls on both alike.
      if (r % 2 === 0) {
        on.push(await closedLoop(url('ocr'), book, clients, durationSec));
        off.push(await closedLoop(url('ocr-solo'), book, clients, durationSec));
      } else {
        off.push(await closedLoop(url('ocr-solo'), book, clients, durationSec));
        on.push(await closedLoop(url('ocr'), book, clients, durationSec));
      }
    }
    const pick = (runs: Run[]) => runs.find((r) => r.pagesPerSec === median(runs.map((x) => x.pagesPerSec))) ?? runs[0];
    const ratio = median(on.map((r, i) => r.pagesPerSec / off[i].pagesPerSec));
    // Pages per server CPU-second: what the cores would answer at saturation, steadier than wall rates here.
    const cpuRatio = median(on.map((r, i) => off[i].serverCpuMsPerPage / r.serverCpuMsPerPage));
    ratios[`pipelines.ocr.c${clients}.pages_per_sec_on_over_off`] = ratio;
    ratios[`pipelines.ocr.c${clients}.pages_per_cpu_second_on_over_off`] = cpuRatio;
    byClients[clients] = { on, off };
    for (const [label, runs] of [
      ['across requests', on],
      ['per request    ', off],
    ] as const) {
      const m = pick(runs);
      console.log(
        `${String(clients).padStart(2)} client(s), crops batched ${label}: ${median(runs.map((x) => x.pagesPerSec)).toFixed(2)} pages/s, ` +
          `${median(runs.map((x) => x.linesPerSec)).toFixed(1)} lines/s, p50 ${m.p50Ms} ms, server CPU ` +
          `${median(runs.map((x) => x.serverCpuMsPerPage)).toFixed(1)} ms/page, exact ${(m.exact * 100).toFixed(0)}%, failed ` +
          `${runs.reduce((a, x) => a + x.failed, 0)}`,
      );
      console.log(
        `    steps (mean ms; model steps: queue / worker / batch size): ${Object.entries(m.steps)
          .map(([id, s]) => `${id} ${s.ms}${s.inferMs !== undefined ? ` (${s.queueMs} / ${s.inferMs} / ${s.meanBatchSize})` : ''}`)
          .join(', ')}`,
      );
    }
    console.log(`    on / off (median of ${rounds} pairs): pages/s ${ratio.toFixed(2)}, pages per server CPU-second ${cpuRatio.toFixed(2)}`);
  }
  const detail = (await (await fetch(`${base}/v1/models/text-recognize`)).json()) as {
    statistics: { batchSizeHistogram: Record<string, number> };
    spec: { batching: unknown };
  };
  console.log(
    `text-recognize batches by size over the whole run: ${JSON.stringify(detail.statistics.batchSizeHistogram)}; batching ` +
      `${JSON.stringify(detail.spec.batching)}`,
  );
  Object.assign(results, { byClients, recognizeBatchSizes: detail.statistics.batchSizeHistogram });
} finally {
  await server.stop();
}
for (const [k, v] of Object.entries(ratios)) console.log(`${k} = ${v.toFixed(2)}`);
console.log(`wrote ${writeResults('pipelines', { ratios, ...results })}`);
