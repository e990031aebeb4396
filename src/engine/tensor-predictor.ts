import { ELEMENT_TYPES, type ElementArray, type TypedTensor } from '../backends/element-types.js';
import { SightlineError } from '../errors.js';
import type { BatchResult, Priority, Reservation } from './batcher.js';
import type { BatchItem, ItemOutput, ModelVersion } from './model-version.js';
import type { ModelRepository } from './repository.js';
import { tensorItems, type TensorInput } from './tensor-item.js';

export interface TensorPredictOptions {
  signal?: AbortSignal;
  priority?: Priority;
  /** The outputs to return; every output the model produces when absent. */
  outputs?: readonly string[];
}

export interface TensorPrediction {
  /** The version that ran the request. */
  version: ModelVersion;
  /** Each output of the whole request, its items' rows joined again in order. */
  outputs: Record<string, TypedTensor>;
  /** The longest queue wait of the request's items. */
  queueMs: number;
  /** The size of each batch the request's items ran in, in item order. */
  batchSizes: number[];
}

const isUnavailable = (err: unknown): boolean => (err as SightlineError | undefined)?.code === 'unavailable';

/**
 * Places for every item of a request, all or none: a request refused part-way gives its places
 * back, so it never runs half. A version retired by a reload hands over to its successor.
 */
function reserveAll(
  repo: ModelRepository,
  model: string,
  count: number,
  priority: Priority,
): { version: ModelVersion; slots: Array<Reservation<BatchItem, ItemOutput>> } {
  let version = repo.serving(model);
  for (;;) {
    const slots: Array<Reservation<BatchItem, ItemOutput>> = [];
    try {
      const budget = version.spec.batching.maxQueueWaitMs;
      for (let i = 0; i < count; i++) slots.push(version.batcher.reserve({ priority, ...(budget === undefined ? {} : { maxQueueWaitMs: budget }) }));
      return { version, slots };
    } catch (err) {
      for (const slot of slots) slot.release();
      const next = isUnavailable(err) ? repo.serving(model) : undefined;
      if (!next || next === version) throw err;
      version = next;
    }
  }
}

/**
 * Tensors in the model's own layout through its dynamic batch scheduler, skipping imaging and the
 * head. A request whose inputs hold a batch (first dim N, where the model's inputs take a variable
 * first dim) becomes N items, queued together in the same tick, so they batch with one another and
 * with other clients' items exactly as images do; their rows of each output are joined back in
 * order. Inputs are checked against the model by the caller.
 */
export async function predictTensors(
  repo: ModelRepository,
  model: string,
  inputs: readonly TensorInput[],
  options: TensorPredictOptions = {},
): Promise<TensorPrediction> {
  const current = repo.serving(model);
  const batched = current.tensorsBatch;
  const rows = batched ? (inputs[0]?.dims[0] ?? 0) : 1;
  if (rows === 0) throw new SightlineError(400, 'bad_request', 'the inputs hold no rows: their first dim is 0');
  const limit = current.spec.batching.maxQueueSize;
  if (rows > limit) throw new SightlineError(400, 'bad_request', `the inputs hold ${rows} rows; model ${model} queues at most ${limit} at once`);
  const { version, slots } = reserveAll(repo, model, rows, options.priority ?? 'high');
  const items = tensorItems(inputs, options.outputs, batched);
  // One item refused or failed ends the request: its items still queued leave the queue.
  const local = new AbortController();
  const stop = () => local.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const pending: Array<Promise<BatchResult<ItemOutput>>> = items.map((item, i) => slots[i].enqueue(item, { signal: local.signal, shapeKey: item.shapeKey }));
    const results = await Promise.all(
      pending.map((p) =>
        p.catch((err: unknown) => {
          local.abort(err);
          throw err;
        }),
      ),
    );
    return {
      version,
      outputs: joinRows(
        results.map((r) => r.output.tensors ?? {}),
        model,
      ),
      queueMs: Math.max(...results.map((r) => r.queueMs)),
      batchSizes: results.map((r) => r.batchSize),
    };
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}

/** Each output's item rows joined along the first dim, in item order (one item's are returned as they are). */
export function joinRows(perItem: Array<Record<string, TypedTensor>>, model: string): Record<string, TypedTensor> {
  if (perItem.length === 1) return perItem[0];
  const out: Record<string, TypedTensor> = {};
  for (const name of Object.keys(perItem[0])) {
    const parts = perItem.map((tensors) => tensors[name]);
    const { type, dims } = parts[0];
    const rest = dims.slice(1).join('x');
    if (parts.some((p) => p === undefined || p.type !== type || p.dims.slice(1).join('x') !== rest)) {
      throw new SightlineError(500, 'inference_failed', `model ${model} gave output ${name} in different shapes for the rows of one request`);
    }
    const joined = new ELEMENT_TYPES[type].array(parts.reduce((n, p) => n + p.data.length, 0)) as ElementArray;
    let at = 0;
    for (const p of parts) {
      (joined as Uint8Array).set(p.data as Uint8Array, at);
      at += p.data.length;
    }
    out[name] = { type, dims: [parts.reduce((n, p) => n + (p.dims[0] ?? 1), 0), ...dims.slice(1)], data: joined };
  }
  return out;
}
