import type { SightlineError } from '../errors.js';
import { decodeForModel, type ImageLimits, type PreparedImage, type RasterImage } from '../imaging/index.js';
import type { BatchResult, Priority, Reservation } from './batcher.js';
import type { ItemOutput, ModelVersion } from './model-version.js';
import type { ModelRepository } from './repository.js';

export interface PredictOptions {
  signal?: AbortSignal;
  priority?: Priority;
  limits: ImageLimits;
}

export interface Prediction {
  value: unknown;
  width: number;
  height: number;
  queueMs: number;
  inferMs: number;
  batchSize: number;
}

type Slot = Reservation<PreparedImage | RasterImage, ItemOutput>;

/** The manifest's queue wait budget, when it sets one (otherwise the batcher's default applies). */
const budgetOf = (version: ModelVersion): { maxQueueWaitMs?: number } => {
  const budget = version.spec.batching.maxQueueWaitMs;
  return budget === undefined ? {} : { maxQueueWaitMs: budget };
};

const isUnavailable = (err: unknown): boolean => (err as SightlineError | undefined)?.code === 'unavailable';

/**
 * A place in the serving version's batcher, taken before the image is decoded so that a model
 * that cannot answer in time refuses at once (503 overloaded) without spending a decode on it.
 * A version retired by a reload (unavailable) hands over to its successor.
 */
function reserveServing(repo: ModelRepository, model: string, priority: Priority): { version: ModelVersion; slot: Slot } {
  let version = repo.serving(model);
  for (;;) {
    try {
      return { version, slot: version.batcher.reserve({ priority, ...budgetOf(version) }) };
    } catch (err) {
      const next = isUnavailable(err) ? repo.serving(model) : undefined;
      if (!next || next === version) throw err;
      version = next;
    }
  }
}

/**
 * One image through one model: reserve a place in the model's dynamic batch scheduler, decode
 * and resize for the model's input (sharp, off the main thread; small images are resized in the
 * worker), then queue it in that place.
 */
export async function predict(repo: ModelRepository, model: string, bytes: Uint8Array, options: PredictOptions): Promise<Prediction> {
  const priority = options.priority ?? 'high';
  const reserved = reserveServing(repo, model, priority);
  const slot = reserved.slot;
  let version = reserved.version;
  let image: PreparedImage | RasterImage;
  try {
    image = await decodeForModel(bytes, version.spec.imageSpec, options.limits);
  } catch (err) {
    slot.release();
    throw err;
  }
  const { width, height } = image.original;
  const enqueueOptions = { ...(options.signal ? { signal: options.signal } : {}), shapeKey: version.shapeKey(image) };
  let pending: Promise<BatchResult<ItemOutput>> = slot.enqueue(image, enqueueOptions);
  for (;;) {
    try {
      const r = await pending;
      repo.observer?.queued(model, r.queueMs / 1000);
      return { value: r.output.value, width, height, queueMs: r.queueMs, inferMs: r.output.inferMs, batchSize: r.batchSize };
    } catch (err) {
      // The version was retired by a reload between decode and enqueue: go to its successor.
      const next = isUnavailable(err) ? repo.serving(model) : undefined;
      if (!next || next === version) throw err;
      version = next;
      pending = version.batcher.enqueue(image, { ...enqueueOptions, priority, ...budgetOf(version), shapeKey: version.shapeKey(image) });
    }
  }
}
