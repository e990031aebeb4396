import { statSync } from 'node:fs';
import type { SessionInfo } from '../backends/onnx.js';
import { SightlineError } from '../errors.js';
import type { PreparedImage, RasterImage } from '../imaging/index.js';
import { DynamicBatcher, type BatcherStats } from './batcher.js';
import { headFor, type AnyHead } from '../heads/index.js';
import { ManifestError, type ModelSpec } from './manifest.js';
import type { CoreLedger, Lease } from './core-ledger.js';
import type { EngineObserver } from './engine-observer.js';
import { ModelMemory, type ModelMemoryReport } from './model-memory.js';
import { BatchRunError, ModelPool } from './pool.js';
import type { TypedTensor } from '../backends/element-types.js';
import { BatchCompute } from './batch-compute.js';
import { isTensorItem, tensorWorkerItem, type TensorItem } from './tensor-item.js';
import type { InferReply, WorkerItem } from './worker-protocol.js';

export interface ItemOutput {
  value: unknown;
  /** Worker time for the batch this item ran in (fill + run + head), in ms. */
  inferMs: number;
  /** The item's rows of the raw outputs: a tensor item's answer, or the outputs an image asked to keep. */
  tensors?: Record<string, TypedTensor>;
}

/** An image for the model's head, optionally keeping raw outputs beside the answer. */
export type ImageItem = (PreparedImage | RasterImage) & { keepOutputs?: readonly string[] };

/** What a version's batcher queues: images (imaging and the head around the run) or tensors in the model's own layout. */
export type BatchItem = ImageItem | TensorItem;

/** Time spent inside workers, summed over finished batches (Triton's compute_input/infer/output). */
export interface ComputeStats {
  batches: number;
  fillMs: number;
  runMs: number;
  headMs: number;
}

/**
 * One loaded generation of a model: its instance group (worker pool) and the dynamic batch
 * scheduler in front of it. A reload builds a new version, switches traffic to it, and retires the
 * old one once its queued and running batches are done.
 */
export class ModelVersion {
  readonly spec: ModelSpec;
  readonly version: number;
  readonly pool: ModelPool;
  readonly batcher: DynamicBatcher<BatchItem, ItemOutput>;
  readonly compute: ComputeStats = { batches: 0, fillMs: 0, runMs: 0, headMs: 0 };
  /** The same worker time by batch size. */
  readonly batchCompute = new BatchCompute();
  private readonly memory = new ModelMemory();
  private fileBytes: number | undefined;
  /** Runs that failed in the runtime: the batcher sees per-item errors once a failed batch is split. */
  private failedRuns = 0;
  info: SessionInfo | undefined;

  private readonly observer: EngineObserver | undefined;

  /**
   * `ledger`: the server's run ledger, which every batch waits on before it is formed. `pool`: an
   * instance group already started for this spec's instances and threads (the one calibration
   * measured on), used instead of starting another.
   */
  constructor(spec: ModelSpec, version: number, observer?: EngineObserver, options: { ledger?: CoreLedger; pool?: ModelPool } = {}) {
    this.spec = spec;
    this.version = version;
    this.observer = observer;
    this.pool = options.pool ?? new ModelPool(spec, () => observer?.workerRestart(spec.name), options.ledger);
    const b = spec.batching;
    this.batcher = new DynamicBatcher<BatchItem, ItemOutput>(
      {
        maxBatchSize: b.maxBatchSize,
        maxQueueDelayMs: b.maxQueueDelayMs,
        preferredBatchSizes: b.preferredBatchSizes,
        ...(b.waitWhenIdle === true ? { waitWhenIdle: true } : {}),
        maxQueueSize: b.maxQueueSize,
        ...(b.queueTimeoutMs !== undefined ? { queueTimeoutMs: b.queueTimeoutMs } : {}),
        maxInFlight: spec.instances,
      },
      (items, info) => this.runBatch(items, info.lease),
      this.pool.gate,
    );
  }

  /** Waits until every instance has loaded its model; rejects with the load error of any that failed. */
  async start(): Promise<SessionInfo> {
    const info = await this.pool.start();
    const head = headFor(this.spec.task) as AnyHead;
    const problem = info.outputDims ? head.checkOutputs?.(info.outputDims, this.spec.head) : undefined;
    if (problem) throw new ManifestError(`${this.spec.manifestPath}: ${problem.field}: ${problem.message}`);
    this.info = info;
    try {
      this.fileBytes = statSync(this.spec.file).size;
    } catch {
      this.fileBytes = undefined;
    }
    return info;
  }

  /** What this version's instances hold, as far as it can be measured. */
  memoryReport(): ModelMemoryReport {
    return this.memory.report(this.pool.loadMemory(), this.fileBytes, this.info?.arenaPolicy);
  }

  /** Batches of one shape unless the manifest pads items to the largest in the batch. */
  shapeKey(image: PreparedImage | RasterImage): string {
    return this.spec.batching.padToLargest ? '' : `${image.width}x${image.height}`;
  }

  /**
   * Batches of tensor items: whether the model's inputs all take a variable first dim, so a
   * request's rows can batch with others'. A runtime that declares no inputs (TensorFlow.js) runs
   * the manifest's layout, whose first dim is the batch.
   */
  get tensorsBatch(): boolean {
    const inputs = this.info?.inputTensors;
    if (inputs === undefined) return this.spec.backend === 'tfjs';
    return inputs.length > 0 && inputs.every((t) => t.dims.length > 0 && t.dims[0] === -1);
  }

  private async runBatch(batch: BatchItem[], lease: Lease | undefined): Promise<Array<ItemOutput | Error>> {
    const items: WorkerItem[] = batch.map((image) => {
      if (isTensorItem(image)) return tensorWorkerItem(image);
      const geometry = { original: image.original, tensor: { width: image.width, height: image.height }, transform: image.transform };
      const keep = image.keepOutputs ? { keepOutputs: image.keepOutputs } : {};
      if (!('raster' in image)) return { pixels: ownedBuffer(image.pixels), width: image.width, height: image.height, geometry, ...keep };
      const { raster } = image;
      return {
        pixels: ownedBuffer(raster.data),
        width: image.width,
        height: image.height,
        geometry,
        raster: { width: raster.width, height: raster.height, channels: raster.channels, resample: image.resample },
        ...keep,
      };
    });
    return this.runIsolating(items, lease);
  }

  /**
   * Runs items as one batch. When the run itself fails (the session throws, as a model may for
   * one bad input), the batch is split in halves and each is run again, down to single items, so
   * only the items that make the run fail get the error and the others get their own answers.
   * A worker lost or a missed run deadline fails every item with a retryable 503 instead: running
   * them again could hang or kill another worker.
   */
  private async runIsolating(items: WorkerItem[], lease?: Lease): Promise<Array<ItemOutput | Error>> {
    let reply: InferReply;
    try {
      // The batcher's lease serves the first run; the halves of a split batch ask the ledger again.
      reply = await this.pool.infer(items, lease);
    } catch (err) {
      if (err instanceof SightlineError) return items.map(() => err);
      if (err instanceof BatchRunError && items.length > 1) {
        const again = items.map((item, i) => ({ ...item, pixels: err.pixels[i] }));
        const half = Math.ceil(again.length / 2);
        const [first, second] = await Promise.all([this.runIsolating(again.slice(0, half)), this.runIsolating(again.slice(half))]);
        return [...first, ...second];
      }
      this.failedRuns++;
      this.observer?.failure(this.spec.name);
      return [new SightlineError(500, 'inference_failed', `model ${this.spec.name} failed to run a batch: ${(err as Error).message}`, { cause: err })];
    }
    const { fillMs, runMs, headMs } = reply.timing;
    this.memory.record(reply, items.length);
    this.compute.batches++;
    this.compute.fillMs += fillMs;
    this.compute.runMs += runMs;
    this.compute.headMs += headMs;
    this.batchCompute.record(items.length, reply.timing);
    const inferMs = fillMs + runMs + headMs;
    this.observer?.batch(this.spec.name, items.length, inferMs / 1000);
    return reply.results.map((r) =>
      r.ok
        ? { value: r.value, inferMs, ...(r.tensors ? { tensors: r.tensors } : {}) }
        : new SightlineError(500, r.code ?? 'inference_failed', `model ${this.spec.name}: ${r.error}`),
    );
  }

  stats(): BatcherStats {
    const stats = this.batcher.stats();
    return { ...stats, failedBatches: stats.failedBatches + this.failedRuns };
  }

  /** Finishes everything queued and running, then stops the workers. */
  async retire(): Promise<void> {
    await this.batcher.drain();
    await this.pool.close();
  }
}

/** A transferable buffer holding exactly these bytes (copying only when the view is part of a larger buffer). */
function ownedBuffer(view: Uint8Array): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return view.buffer;
  return view.slice().buffer;
}
