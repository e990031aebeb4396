import type { ModelVersion } from '../../engine/model-version.js';

const ns = (ms: number) => Math.round(ms * 1e6);
const NONE = { count: 0, ns: 0 };

/**
 * Triton's statistics of one serving version. The unit of inference is the item: an image, or one
 * row of a tensor request that holds a batch (a request of N rows counts N, as Triton's
 * inference_count does). success and fail time an item from entering the queue to its answer
 * (fail also counts items that timed out in the queue); queue is the wait before dispatch; the
 * compute figures are the worker's tensor fill, runtime run and output handling (the head, or
 * cutting tensors per item), each item counted with the time of the batch it ran in, while the
 * batch statistics count each run once. Nothing is cached, so cache_hit and cache_miss stay 0.
 */
export function modelStatistics(name: string, version: ModelVersion) {
  const s = version.stats();
  const sizes = version.batchCompute.bySize();
  let items = 0;
  let fill = 0;
  let run = 0;
  let head = 0;
  for (const b of sizes) {
    items += b.size * b.batches;
    fill += b.size * b.fillMs;
    run += b.size * b.runMs;
    head += b.size * b.headMs;
  }
  return {
    name,
    version: String(version.version),
    last_inference: version.batchCompute.lastRunAt,
    inference_count: s.succeeded,
    execution_count: sizes.reduce((n, b) => n + b.batches, 0),
    inference_stats: {
      success: { count: s.succeeded, ns: s.succeededNs },
      fail: { count: s.failed + s.rejectedTimeout, ns: s.failedNs },
      queue: { count: s.dispatchedItems, ns: s.queueNs },
      compute_input: { count: items, ns: ns(fill) },
      compute_infer: { count: items, ns: ns(run) },
      compute_output: { count: items, ns: ns(head) },
      cache_hit: NONE,
      cache_miss: NONE,
    },
    batch_stats: sizes.map((b) => ({
      batch_size: b.size,
      compute_input: { count: b.batches, ns: ns(b.fillMs) },
      compute_infer: { count: b.batches, ns: ns(b.runMs) },
      compute_output: { count: b.batches, ns: ns(b.headMs) },
    })),
  };
}
