import type { SightlineError } from '../errors.js';
import { decodeForModel, type ImageLimits } from '../imaging/index.js';
import type { Priority } from './batcher.js';
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

/**
 * One image through one model: decode and resize for the model's input (sharp, off the main
 * thread; small images are resized in the worker), then queue it in the model's dynamic batch scheduler.
 */
export async function predict(repo: ModelRepository, model: string, bytes: Uint8Array, options: PredictOptions): Promise<Prediction> {
  let version = repo.serving(model);
  const image = await decodeForModel(bytes, version.spec.imageSpec, options.limits);
  const { width, height } = image.original;
  for (;;) {
    try {
      const r = await version.batcher.enqueue(image, {
        ...(options.signal ? { signal: options.signal } : {}),
        priority: options.priority ?? 'high',
        shapeKey: version.shapeKey(image),
      });
      repo.observer?.queued(model, r.queueMs / 1000);
      return { value: r.output.value, width, height, queueMs: r.queueMs, inferMs: r.output.inferMs, batchSize: r.batchSize };
    } catch (err) {
      // The version was retired by a reload between decode and enqueue: go to its successor.
      const next = (err as SightlineError).code === 'unavailable' ? repo.serving(model) : undefined;
      if (!next || next === version) throw err;
      version = next;
    }
  }
}
