import { readFileSync } from 'node:fs';
import { openModel, type LoadedModel, type TensorData } from '../backends/index.js';
import type { ModelSpec } from './manifest.js';
import type { ProbeFigure, ProbeStep } from './worker-protocol.js';

/**
 * The worker's side of calibration: times runs of synthetic batches. Batch 1 at the worker's own
 * thread count runs on its own session (the one that serves afterwards). Other thread counts, and
 * every larger batch, run on sessions opened for the probe and released after it, so the serving
 * session's arena never grows to a batch size calibration may then turn off.
 *
 * Single-threaded runs are timed as their wall time less the time this thread spent waiting for a
 * core meanwhile (Linux schedstat's run delay): ONNX Runtime runs them on the calling thread, so
 * that is what the run takes on a core of its own, however busy the machine is (under other users'
 * load on 2 cores, a loop timed 99–252 ms on the wall clock and 27.8–29.0 ms this way). Runs with
 * more threads use pool threads too and are timed on the wall clock, which contention can only make
 * slower: it never favours threads the machine cannot give.
 */
const extra = new Map<number, LoadedModel>();

export async function probeRuns(spec: ModelSpec, own: LoadedModel, steps: readonly ProbeStep[], keep: boolean): Promise<ProbeFigure[]> {
  const figures: ProbeFigure[] = [];
  try {
    for (const step of steps) {
      const model = step.batch === 1 && step.threads === spec.intraOpThreads ? own : await session(spec, step.threads);
      figures.push({ threads: step.threads, batch: step.batch, ...(await timeRuns(spec, model, step)) });
    }
  } catch (err) {
    await releaseProbeSessions();
    throw err;
  }
  if (!keep) await releaseProbeSessions();
  return figures;
}

/** Frees the sessions probes opened (before the worker exits, outside any run). */
export async function releaseProbeSessions(): Promise<void> {
  const models = [...extra.values()];
  extra.clear();
  await Promise.all(models.map((m) => m.release().catch(() => undefined)));
}

async function session(spec: ModelSpec, threads: number): Promise<LoadedModel> {
  let model = extra.get(threads);
  if (model === undefined) {
    model = await openModel({ ...spec, intraOpThreads: threads });
    extra.set(threads, model);
  }
  return model;
}

/** Nanoseconds the calling thread has waited on a run queue, or undefined where the kernel does not say. */
function waitedNs(): bigint | undefined {
  try {
    return BigInt(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function timeRuns(spec: ModelSpec, model: LoadedModel, step: ProbeStep): Promise<Pick<ProbeFigure, 'runsMs' | 'clock'>> {
  const input = syntheticBatch(spec, step.batch, step.width, step.height);
  const inputName = spec.input.name ?? model.info.inputNames[0];
  // The first run sizes the arena and initialises kernels: what a warm server never pays again.
  await model.run(inputName, input, spec.outputs);
  const clock: ProbeFigure['clock'] = step.threads === 1 && waitedNs() !== undefined ? 'wall-minus-wait' : 'wall';
  const runsMs: number[] = [];
  const started = performance.now();
  while (runsMs.length < Math.max(1, step.runs)) {
    // The wait is read inside the wall interval: a wait between the two reads is taken off, one outside them only adds.
    const t0 = performance.now();
    const w0 = clock === 'wall-minus-wait' ? waitedNs()! : 0n;
    await model.run(inputName, input, spec.outputs);
    const w1 = clock === 'wall-minus-wait' ? waitedNs()! : 0n;
    runsMs.push(performance.now() - t0 - Number(w1 - w0) / 1e6);
    if (performance.now() - started >= step.budgetMs) break;
  }
  return { runsMs, clock };
}

/**
 * A batch of noise images, normalised as the manifest says: deterministic (a fixed linear
 * congruential sequence), so no run takes a shortcut on constant input, and over the middle of the
 * pixel range (16–239), clear of the saturated values some models treat specially.
 */
function syntheticBatch(spec: ModelSpec, batch: number, width: number, height: number): TensorData {
  const { layout, dtype, mean, std, scale } = spec.input;
  const dims = layout === 'NCHW' ? [batch, 3, height, width] : [batch, height, width, 3];
  const n = batch * 3 * height * width;
  let seed = 0x2545f491;
  const next = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return 16 + (((seed >>> 24) * 7) >> 3);
  };
  if (dtype === 'uint8') {
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = next();
    return { dims, data };
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = layout === 'NCHW' ? Math.floor(i / (height * width)) % 3 : i % 3;
    data[i] = (next() * scale - mean[c]) / std[c];
  }
  return { dims, data };
}
