import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { openModel, type LoadedModel, type TensorData } from '../backends/index.js';
import type { TensorMeta } from '../backends/backend.js';
import { ELEMENT_TYPES, elementTypeOf, isElementType, type ElementArray, type TypedTensor } from '../backends/element-types.js';
import { headFor } from '../heads/index.js';
import type { ItemTensor } from '../heads/types.js';
// The two modules themselves, not imaging/index.js: that one would load sharp (libvips) into every worker.
import { resampleInto } from '../imaging/resample.js';
import { fillTensor, fillTensorUint8, slotElements } from '../imaging/tensor-fill.js';
import type { ModelSpec } from './manifest.js';
import { probeRuns, releaseProbeSessions } from './probe-runs.js';
import { runTensorBatch } from './tensor-batch.js';
import {
  isTensorWorkerItem,
  Phase,
  type FromWorker,
  type ImageWorkerItem,
  type InferReply,
  type ItemOutcome,
  type ToWorker,
  type WorkerHeap,
  type WorkerItem,
} from './worker-protocol.js';

/**
 * Worker thread entry: each worker owns one loaded model (an ONNX Runtime session or a
 * TensorFlow.js model, as the manifest's backend says). A batch arrives as transferred pixel
 * buffers; the worker fills one input tensor, runs once, splits the outputs per image and applies
 * the model's head. One message is handled at a time, under the phase word shared with the pool.
 */
const { spec, control } = workerData as { spec: ModelSpec; control: SharedArrayBuffer };
const phase = new Int32Array(control);
const port = parentPort!;
const head = headFor(spec.task);
let model: LoadedModel | undefined;
let closing = false;

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** This thread's V8 heap (about a microsecond to read, so every reply carries it). */
function heap(): WorkerHeap {
  const h = getHeapStatistics();
  return { threadId, heapUsedBytes: h.used_heap_size, heapTotalBytes: h.total_heap_size, externalBytes: h.external_memory };
}

/** Marks the worker busy; false once the pool has stopped it (it is about to be terminated). */
const enter = () => Atomics.compareExchange(phase, 0, Phase.idle, Phase.busy) === Phase.idle;
/** Back to idle; false when the pool asked the worker to stop meanwhile. */
const leave = () => Atomics.compareExchange(phase, 0, Phase.busy, Phase.idle) === Phase.busy;

async function exitCleanly(): Promise<never> {
  // Releasing here, outside any run, keeps the session's finalizer out of the thread's teardown.
  await releaseProbeSessions();
  await model?.release().catch(() => undefined);
  model = undefined;
  process.exit(0);
}

async function finish(): Promise<void> {
  if (!leave() || closing) await exitCleanly();
}

async function load(): Promise<void> {
  if (!enter()) return;
  try {
    const rssBefore = process.memoryUsage.rss();
    model = await openModel(spec);
    post({ kind: 'loaded', info: model.info, threadId, memory: { rssGrowthBytes: Math.max(0, process.memoryUsage.rss() - rssBefore), heap: heap() } });
  } catch (err) {
    post({ kind: 'load-failed', message: (err as Error).message });
  }
  await finish();
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'close') {
    closing = true;
    if (enter()) void exitCleanly();
    return;
  }
  if (!enter()) return;
  if (message.kind === 'probe') {
    const { id } = message;
    probeRuns(spec, model!, message.steps, message.keep)
      .then(
        (figures) => post({ kind: 'probed', id, figures }),
        (err: unknown) => post({ kind: 'probe-failed', id, message: (err as Error).message }),
      )
      .finally(() => void finish());
    return;
  }
  const { id, items } = message;
  runBatch(model!, items)
    .then(
      (reply) => post({ kind: 'reply', id, reply }),
      (err: unknown) => {
        const pixels = items.map((item) => item.pixels);
        post({ kind: 'failed', id, message: (err as Error).message, pixels }, [...new Set(pixels)]);
      },
    )
    .finally(() => {
      collectDeadBuffers();
      void finish();
    });
});

void load();

/**
 * The memory of the batch input tensor, kept from batch to batch and grown to the largest: a new
 * tensor per batch left dead ones (20 MB each for the detector at 4 × 640²) waiting for this
 * thread's garbage collector, 30–50 MB of them under load. One batch runs at a time here, every
 * element of the batch's slots is written by the fill, and the runtimes do not keep the input.
 */
let inputMemory = new ArrayBuffer(0);

function batchInput(dtype: 'float32' | 'uint8', elements: number): Float32Array | Uint8Array {
  const bytes = dtype === 'uint8' ? elements : elements * 4;
  if (inputMemory.byteLength < bytes) inputMemory = new ArrayBuffer(bytes);
  return dtype === 'uint8' ? new Uint8Array(inputMemory, 0, elements) : new Float32Array(inputMemory, 0, elements);
}

/**
 * Each batch leaves dead buffers in this thread (the pixels it was sent, the runtime's output
 * copies: about 3 MB per 640² detector image), and V8 collects them only once 32 MiB of young
 * buffers or 64 MiB of external memory have built up: 15–35 MiB of them sat in every worker under
 * load. A young-generation collection once they pass DEAD_BUFFER_BYTES, after the reply is posted
 * (about 35 µs with the little a worker keeps alive), holds them near that.
 */
const DEAD_BUFFER_BYTES = 8 * 2 ** 20;
const collectYoung = youngCollector();

function collectDeadBuffers(): void {
  if (collectYoung && getHeapStatistics().external_memory > inputMemory.byteLength + DEAD_BUFFER_BYTES) collectYoung();
}

/**
 * V8's gc function for this thread. Node cannot give one worker --expose-gc, so the flag is set
 * just long enough to take the function from a fresh context, then cleared again; a worker
 * starting at the same moment may clear it first, hence a few tries. Without it, V8 collects as
 * it would anyway.
 */
function youngCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => (exposed as (options: object) => void)({ type: 'minor' });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      if (typeof gc === 'function') return () => (gc as (options: object) => void)({ type: 'minor' });
    } catch {
      // The flag was cleared before the context was made.
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return undefined;
}

async function runBatch(model: LoadedModel, batch: WorkerItem[]): Promise<InferReply> {
  // A batch holds one kind of item: the batcher keys tensor items apart from images.
  if (batch.every(isTensorWorkerItem)) return { ...(await runTensorBatch(model, batch)), heap: heap() };
  const items = batch as ImageWorkerItem[];
  const t0 = performance.now();
  // Every item fills a slot of the largest size in the batch (equal sizes unless padToLargest).
  let width = 0;
  let height = 0;
  for (const item of items) {
    if (item.width > width) width = item.width;
    if (item.height > height) height = item.height;
  }
  const per = slotElements(width, height);
  const input = spec.input;
  const data = batchInput(input.dtype, per * items.length);
  const norm = { layout: input.layout, mean: input.mean, std: input.std, scale: input.scale, colorOrder: input.colorOrder };
  items.forEach((item, i) => {
    const bytes = new Uint8Array(item.pixels);
    const { raster } = item;
    const pixels = raster ? resampleInto({ data: bytes, width: raster.width, height: raster.height, channels: raster.channels }, raster.resample) : bytes;
    const source = { pixels, width: item.width, height: item.height };
    const slot = { width, height };
    if (data instanceof Uint8Array) fillTensorUint8(data, i * per, source, input.layout, slot, input.colorOrder);
    else fillTensor(data, i * per, source, norm, slot);
  });
  const dims = input.layout === 'NCHW' ? [items.length, 3, height, width] : [items.length, height, width, 3];
  const inputName = input.name ?? model.info.inputNames[0];

  const t1 = performance.now();
  const outputs = await model.run(inputName, { dims, data }, spec.outputs);
  const t2 = performance.now();

  const results: ItemOutcome[] = items.map((item, i) => {
    try {
      const geometry = { ...item.geometry, tensor: { width, height } };
      const own = sliceItem(outputs, i, items.length);
      const value = head.run(own, geometry, spec.head as never);
      return item.keepOutputs ? { ok: true, value, tensors: keptOutputs(own, item.keepOutputs, model.info.outputTensors) } : { ok: true, value };
    } catch (err) {
      return { ok: false, error: (err as Error).message, code: (err as { code?: string }).code };
    }
  });
  const t3 = performance.now();
  return { results, timing: { fillMs: t1 - t0, runMs: t2 - t1, headMs: t3 - t2 }, inputBytes: data.byteLength, heap: heap() };
}

/** Copies of the named outputs of one image (a view would send its batch's whole buffer along). */
function keptOutputs(own: Record<string, ItemTensor>, names: readonly string[], declared: readonly TensorMeta[] = []): Record<string, TypedTensor> {
  const out: Record<string, TypedTensor> = {};
  for (const name of names) {
    const t = own[name];
    if (t === undefined) continue;
    const data = t.data.slice() as ElementArray;
    // The declared type tells bool from uint8 and float16 from uint16, which share their arrays.
    const type = declared.find((m) => m.name === name)?.type;
    out[name] = {
      type: type !== undefined && isElementType(type) && data instanceof ELEMENT_TYPES[type].array ? type : elementTypeOf(data),
      dims: [...t.dims],
      data,
    };
  }
  return out;
}

/** Item `i`'s view of every output (batch dimension kept as 1); no copies. */
function sliceItem(outputs: Record<string, TensorData>, i: number, batch: number): Record<string, ItemTensor> {
  const out: Record<string, ItemTensor> = {};
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== batch) {
      out[name] = t;
      continue;
    }
    const per = t.data.length / batch;
    out[name] = { dims: [1, ...t.dims.slice(1)], data: t.data.subarray(i * per, (i + 1) * per) };
  }
  return out;
}
