import type { TypedTensor } from '../backends/element-types.js';
import type { SightlineError } from '../errors.js';
import { decodeForModel, type ImageInputSpec, type ImageLimits, type PreparedImage, type RasterImage } from '../imaging/index.js';
import { prepareDecoded, type DecodedImage } from '../imaging/raster-input.js';
import type { PipelineSpec } from '../pipelines/manifest.js';
import { runPipeline, type StepLatency, type StepModels } from '../pipelines/runner.js';
import type { BatchResult, Priority, Reservation } from './batcher.js';
import type { ImageItem, ItemOutput, ModelVersion } from './model-version.js';
import type { ModelRepository } from './repository.js';

export interface PredictOptions {
  signal?: AbortSignal;
  priority?: Priority;
  limits: ImageLimits;
  /** Raw outputs to return beside the head's answer (a model's, not a pipeline's). */
  keepOutputs?: readonly string[];
}

export interface Prediction {
  value: unknown;
  width: number;
  height: number;
  queueMs: number;
  inferMs: number;
  batchSize: number;
  /** The image's rows of the raw outputs asked for with `keepOutputs`. */
  tensors?: Record<string, TypedTensor>;
  /** A pipeline's time by step (see StepLatency). */
  steps?: Record<string, StepLatency>;
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
function reserveServing(repo: ModelRepository, model: string, priority: Priority, budget?: number): { version: ModelVersion; slot: Slot } {
  let version = repo.serving(model);
  for (;;) {
    try {
      return { version, slot: version.batcher.reserve({ priority, ...(budget === undefined ? budgetOf(version) : { maxQueueWaitMs: budget }) }) };
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
 * worker), then queue it in that place. A pipeline's name runs the pipeline, each of its model
 * steps through that model's own batcher.
 */
export async function predict(repo: ModelRepository, model: string, bytes: Uint8Array, options: PredictOptions): Promise<Prediction> {
  const pipeline = repo.servingPipeline(model);
  if (pipeline !== undefined) return predictPipeline(repo, pipeline, bytes, options);
  return predictPrepared(repo, model, (spec) => decodeForModel(bytes, spec, options.limits), options);
}

/** Options of one call on pixels already decoded (a pipeline's step). */
export interface PixelPredictOptions extends PredictOptions {
  /** Items of one group batch only with each other (default: with any item of the same shape). */
  group?: string;
  /** Admitted by the queue's size only, not by its expected wait (later steps of a request already admitted). */
  admitted?: boolean;
}

/** Pixels already decoded through one model, without encoding them again (see prepareDecoded). */
export function predictDecoded(repo: ModelRepository, model: string, image: DecodedImage, options: PixelPredictOptions): Promise<Prediction> {
  return predictPrepared(repo, model, (spec) => prepareDecoded(image, spec), options);
}

async function predictPipeline(repo: ModelRepository, pipeline: PipelineSpec, bytes: Uint8Array, options: PredictOptions): Promise<Prediction> {
  const models: StepModels = {
    predict: (model, image, call) => predictDecoded(repo, model, image, { ...options, ...(call.group ? { group: call.group } : {}), admitted: !call.first }),
    inputHeight: (model) => repo.serving(model).spec.input.height,
  };
  const r = await runPipeline(pipeline, bytes, models, options.limits);
  return { value: r.value, width: r.width, height: r.height, queueMs: r.queueMs, inferMs: r.inferMs, batchSize: r.batchSize, steps: r.steps };
}

async function predictPrepared(
  repo: ModelRepository,
  model: string,
  prepare: (spec: ImageInputSpec) => Promise<PreparedImage | RasterImage>,
  options: PixelPredictOptions,
): Promise<Prediction> {
  const priority = options.priority ?? 'high';
  const reserved = reserveServing(repo, model, priority, options.admitted ? Infinity : undefined);
  const slot = reserved.slot;
  let version = reserved.version;
  let image: ImageItem;
  try {
    image = await prepare(version.spec.imageSpec);
  } catch (err) {
    slot.release();
    throw err;
  }
  const { width, height } = image.original;
  if (options.keepOutputs) image = { ...image, keepOutputs: options.keepOutputs };
  const shapeKey = (v: ModelVersion) => (options.group === undefined ? v.shapeKey(image) : `${v.shapeKey(image)}|${options.group}`);
  const enqueueOptions = { ...(options.signal ? { signal: options.signal } : {}), shapeKey: shapeKey(version) };
  let pending: Promise<BatchResult<ItemOutput>> = slot.enqueue(image, enqueueOptions);
  for (;;) {
    try {
      const r = await pending;
      repo.observer?.queued(model, r.queueMs / 1000);
      const tensors = r.output.tensors ? { tensors: r.output.tensors } : {};
      return { value: r.output.value, width, height, queueMs: r.queueMs, inferMs: r.output.inferMs, batchSize: r.batchSize, ...tensors };
    } catch (err) {
      // The version was retired by a reload between decode and enqueue: go to its successor.
      const next = isUnavailable(err) ? repo.serving(model) : undefined;
      if (!next || next === version) throw err;
      version = next;
      const budget = options.admitted ? { maxQueueWaitMs: Infinity } : budgetOf(version);
      pending = version.batcher.enqueue(image, { ...enqueueOptions, priority, ...budget, shapeKey: shapeKey(version) });
    }
  }
}
