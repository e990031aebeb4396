/**
 * Counters of one batcher, in the spirit of Triton's infer statistics. Every accepted item ends
 * in exactly one of succeeded, failed, cancelled, rejectedTimeout or rejectedClosed (or is still
 * queued or running), so:
 *   enqueued = succeeded + failed + cancelled + rejectedTimeout + rejectedClosed + queued + running items.
 * rejectedQueueFull, rejectedWaitBudget and rejectedUnavailable count enqueue (or reserve) calls
 * that were never accepted.
 */
export interface BatcherStats {
  /** Items accepted (including those whose signal was already aborted, counted as cancelled). */
  enqueued: number;
  succeeded: number;
  /** Items failed by their run: the run rejected, returned the wrong count, or put an Error in their slot. */
  failed: number;
  /** Items whose signal aborted before dispatch. */
  cancelled: number;
  rejectedQueueFull: number;
  /** High-priority work refused because the expected queue wait exceeded the latency budget. */
  rejectedWaitBudget: number;
  rejectedTimeout: number;
  /** Enqueue calls after drain() or close(). */
  rejectedUnavailable: number;
  /** Items still queued when close() was called. */
  rejectedClosed: number;
  dispatchedBatches: number;
  dispatchedItems: number;
  /** Batches that ran to the end, successfully or not. */
  finishedBatches: number;
  /** Batches whose run rejected or returned the wrong number of outputs. */
  failedBatches: number;
  /** Batch size → number of batches dispatched with that size. */
  batchSizeHistogram: Record<number, number>;
  /** Time from enqueue to answer, summed over the items that succeeded. */
  succeededNs: number;
  /** Time from enqueue to refusal, summed over the items that failed in their run or timed out in the queue. */
  failedNs: number;
  /** Time dispatched items spent queued, summed. */
  queueNs: number;
  queueMs: number;
  /** Time runs took from dispatch to settle, summed over finished batches. */
  computeNs: number;
  computeMs: number;
  queueLength: number;
  peakQueueLength: number;
  inFlight: number;
  /** Items admitted and still being prepared (decoded) before they join the queue. */
  reserved: number;
  /** Measured items per second with every instance busy (moving average), or null before the first batch. */
  throughputPerSec: number | null;
  /** (reserved + queued + running items) ÷ throughput, or null before the first batch. */
  expectedWaitMs: number | null;
}

/** Weight of the newest batch in the moving averages: about the last ten batches count. */
const EWMA_WEIGHT = 0.2;

const NS_PER_MS = 1e6;

/** Moving averages of batch size and batch time; their ratio is one instance's throughput. */
class BatchAverage {
  items: number | undefined;
  ms: number | undefined;

  add(batchSize: number, batchMs: number): void {
    this.items = this.items === undefined ? batchSize : this.items + EWMA_WEIGHT * (batchSize - this.items);
    this.ms = this.ms === undefined ? batchMs : this.ms + EWMA_WEIGHT * (batchMs - this.ms);
  }
}

/**
 * Throughput of one instance over recent successful batches. Averaging sizes and times apart
 * keeps a stray tiny batch from swinging it the way averaging per-batch rates would. Full batches
 * are also averaged on their own and win once measured: a long queue is served in full batches,
 * while the small batches of light load carry their fixed cost over fewer items and would
 * understate the speed at which a backlog drains.
 */
export class ThroughputMeter {
  private readonly all = new BatchAverage();
  private readonly full = new BatchAverage();

  constructor(private readonly fullBatchSize: number) {}

  record(batchSize: number, batchMs: number): void {
    // A zero-time batch (a coarse clock) carries no rate; skip it rather than divide by zero.
    if (!(batchMs > 0) || batchSize < 1) return;
    this.all.add(batchSize, batchMs);
    if (batchSize >= this.fullBatchSize) this.full.add(batchSize, batchMs);
  }

  /** Items per millisecond of one instance, or undefined before the first batch. */
  itemsPerMs(): number | undefined {
    const from = this.full.ms !== undefined ? this.full : this.all;
    return from.items === undefined || from.ms === undefined ? undefined : from.items / from.ms;
  }

  /** Recent batch time in milliseconds (full batches once measured), or undefined before the first batch. */
  batchMs(): number | undefined {
    return this.full.ms ?? this.all.ms;
  }
}

/** The counts of BatcherStats that are reported as they are kept. */
type BatchCounts = Pick<
  BatcherStats,
  | 'enqueued'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'rejectedQueueFull'
  | 'rejectedWaitBudget'
  | 'rejectedTimeout'
  | 'rejectedUnavailable'
  | 'rejectedClosed'
  | 'dispatchedBatches'
  | 'dispatchedItems'
  | 'finishedBatches'
  | 'failedBatches'
>;

/** Mutable counters behind `DynamicBatcher.stats()`; times are kept in milliseconds. */
export class BatchStatsRecorder {
  /** Counted by the batcher as items and batches end, and by the methods below as they are accepted, dispatched and finished. */
  readonly counts: BatchCounts = {
    enqueued: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    rejectedQueueFull: 0,
    rejectedWaitBudget: 0,
    rejectedTimeout: 0,
    rejectedUnavailable: 0,
    rejectedClosed: 0,
    dispatchedBatches: 0,
    dispatchedItems: 0,
    finishedBatches: 0,
    failedBatches: 0,
  };
  /** Enqueue to answer, summed: items that succeeded, and items that failed or timed out. */
  succeededMs = 0;
  failedMs = 0;
  private peakQueueLength = 0;
  private queueMs = 0;
  private computeMs = 0;
  private readonly histogram = new Map<number, number>();

  accepted(queueLength: number): void {
    this.counts.enqueued++;
    if (queueLength > this.peakQueueLength) this.peakQueueLength = queueLength;
  }

  dispatched(batchSize: number, totalQueueMs: number): void {
    this.counts.dispatchedBatches++;
    this.counts.dispatchedItems += batchSize;
    this.queueMs += totalQueueMs;
    this.histogram.set(batchSize, (this.histogram.get(batchSize) ?? 0) + 1);
  }

  finished(computeMs: number): void {
    this.counts.finishedBatches++;
    this.computeMs += computeMs;
  }

  /** Mean run time of finished batches, or undefined before the first one finishes. */
  averageBatchMs(): number | undefined {
    const { finishedBatches } = this.counts;
    return finishedBatches === 0 ? undefined : this.computeMs / finishedBatches;
  }

  snapshot(
    queueLength: number,
    inFlight: number,
    admission: { reserved: number; throughputPerMs: number | undefined; expectedWaitMs: number | undefined },
  ): BatcherStats {
    const batchSizeHistogram: Record<number, number> = {};
    for (const [size, count] of [...this.histogram].sort((a, b) => a[0] - b[0])) batchSizeHistogram[size] = count;
    return {
      ...this.counts,
      batchSizeHistogram,
      succeededNs: Math.round(this.succeededMs * NS_PER_MS),
      failedNs: Math.round(this.failedMs * NS_PER_MS),
      queueNs: Math.round(this.queueMs * NS_PER_MS),
      queueMs: this.queueMs,
      computeNs: Math.round(this.computeMs * NS_PER_MS),
      computeMs: this.computeMs,
      queueLength,
      peakQueueLength: this.peakQueueLength,
      inFlight,
      reserved: admission.reserved,
      throughputPerSec: admission.throughputPerMs === undefined ? null : admission.throughputPerMs * 1000,
      expectedWaitMs: admission.expectedWaitMs ?? null,
    };
  }
}
