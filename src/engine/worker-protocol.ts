import type { ElementType, TypedTensor } from '../backends/element-types.js';
import type { ImageGeometry } from '../heads/types.js';
import type { SessionInfo } from '../backends/backend.js';
import type { ResampleTarget } from '../imaging/resample.js';

/** One image of a batch as it travels to a worker; `pixels` is transferred, not copied. */
export interface ImageWorkerItem {
  /** Tensor-sized HWC RGB pixels, or with `raster` the decoded image still to be resized. */
  pixels: ArrayBuffer;
  width: number;
  height: number;
  geometry: ImageGeometry;
  raster?: { width: number; height: number; channels: 3 | 4; resample: ResampleTarget };
  /** Raw outputs to send back beside the head's answer (the image's rows of each). */
  keepOutputs?: readonly string[];
}

/** Where one input of a tensor item lies in its buffer; dims are the item's own (its rows of the batch). */
export interface TensorLayout {
  name: string;
  type: ElementType;
  dims: number[];
  byteOffset: number;
}

/**
 * One item of a tensor batch: tensors in the model's own layout, skipping imaging and the head.
 * Every input's bytes share `pixels`, so the item travels as one transfer and a failed batch hands
 * it back like an image's pixels.
 */
export interface TensorWorkerItem {
  pixels: ArrayBuffer;
  tensors: TensorLayout[];
  /** Outputs to send back; every output the model produces when absent. */
  outputs?: readonly string[];
}

export type WorkerItem = ImageWorkerItem | TensorWorkerItem;

export const isTensorWorkerItem = (item: WorkerItem): item is TensorWorkerItem => 'tensors' in item;

export type WorkerTask = { kind: 'infer'; items: WorkerItem[] };

/** `tensors`: an item's rows of the raw outputs (a tensor item's answer, or the outputs an image kept). */
export type ItemOutcome = { ok: true; value: unknown; tensors?: Record<string, TypedTensor> } | { ok: false; error: string; code: string | undefined };

/** A worker thread's own V8 heap, sampled inside it (v8.getHeapStatistics of its isolate). */
export interface WorkerHeap {
  threadId: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory outside the heap that JavaScript objects of this thread hold (typed arrays, buffers). */
  externalBytes: number;
}

export interface InferReply {
  results: ItemOutcome[];
  /** Milliseconds spent in the worker: filling the batch tensor, running the session, post-processing. */
  timing: { fillMs: number; runMs: number; headMs: number };
  /** Bytes of the batch's input tensor. */
  inputBytes: number;
  /** The worker's heap after the batch. */
  heap: WorkerHeap;
}

/** What loading a model cost, measured by the worker around it. */
export interface LoadMemory {
  /** Process RSS growth while this worker loaded its model (loads running at the same time add to it). */
  rssGrowthBytes: number;
  heap: WorkerHeap;
}

/**
 * One configuration a calibration probe times on a synthetic batch: a warm-up run, then timed runs
 * until `runs` are done or `budgetMs` is spent (at least one).
 */
export interface ProbeStep {
  threads: number;
  batch: number;
  width: number;
  height: number;
  runs: number;
  budgetMs: number;
}

/** Milliseconds of each timed run of a probe step, on the clock it was timed with. */
export interface ProbeFigure {
  threads: number;
  batch: number;
  runsMs: number[];
  /** `wall-minus-wait`: elapsed time less the thread's wait for a core (single-threaded runs on Linux); `wall`: elapsed time. */
  clock?: 'wall-minus-wait' | 'wall';
}

/**
 * Main thread → worker. `close` asks an idle worker to release its model and exit. `probe` times
 * synthetic batches (calibration at load); sessions it opens for other thread counts or batch
 * sizes stay open for the next probe while `keep` is set, and are released otherwise.
 */
export type ToWorker =
  { kind: 'infer'; id: number; items: WorkerItem[] } | { kind: 'probe'; id: number; steps: ProbeStep[]; keep: boolean } | { kind: 'close' };

/**
 * Worker → main thread. A failed batch hands its pixel buffers back (in item order) so the
 * batch can be split and run again without the main thread keeping copies.
 */
export type FromWorker =
  | { kind: 'loaded'; info: SessionInfo; threadId: number; memory: LoadMemory }
  | { kind: 'load-failed'; message: string }
  | { kind: 'reply'; id: number; reply: InferReply }
  | { kind: 'failed'; id: number; message: string; pixels: ArrayBuffer[] }
  | { kind: 'probed'; id: number; figures: ProbeFigure[] }
  | { kind: 'probe-failed'; id: number; message: string };

/**
 * The phase word a worker and its pool share (an Int32Array over a SharedArrayBuffer). Terminating
 * a thread while it is inside ONNX Runtime (loading or running a session) aborts the whole process
 * (`terminate called after throwing an instance of 'Napi::Error'`), so a worker marks itself busy
 * for everything it does, and the pool terminates only an idle one; a busy one is asked to stop
 * and exits by itself, after releasing its model, once its native call has returned.
 */
export const Phase = {
  idle: 0,
  busy: 1,
  /** Set by the pool while busy: exit when done. */
  stopRequested: 2,
  /** Set by the pool while idle: do nothing more; termination follows. */
  stopped: 3,
} as const;
