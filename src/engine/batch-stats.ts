/**
 * Counters of one batcher, in the spirit of Triton's infer statistics. Every accepted item ends
 * in exactly one of succeeded, failed, cancelled, rejectedTimeout or rejectedClosed (or is still
 * queued or running), so:
 *   enqueued = succeeded + failed + cancelled + rejectedTimeout + rejectedClosed + queued + running items.
 * rejectedQueueFull and rejectedUnavailable count enqueue calls that were never accepted.
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
  /** Time dispatched items spent queued, summed. */
  queueNs: number;
  queueMs: number;
  /** Time runs took from dispatch to settle, summed over finished batches. */
  computeNs: number;
  computeMs: number;
  queueLength: number;
  peakQueueLength: number;
  inFlight: number;
}

const NS_PER_MS = 1e6;

/** Mutable counters behind `DynamicBatcher.stats()`; times are kept in milliseconds. */
export class BatchStatsRecorder {
  enqueued = 0;
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  rejectedQueueFull = 0;
  rejectedTimeout = 0;
  rejectedUnavailable = 0;
  rejectedClosed = 0;
  failedBatches = 0;
  private dispatchedBatches = 0;
  private dispatchedItems = 0;
  private finishedBatches = 0;
  private peakQueueLength = 0;
  private queueMs = 0;
  private computeMs = 0;
  private readonly histogram = new Map<number, number>();

  accepted(queueLength: number): void {
    this.enqueued++;
    if (queueLength > this.peakQueueLength) this.peakQueueLength = queueLength;
  }

  dispatched(batchSize: number, totalQueueMs: number): void {
    this.dispatchedBatches++;
    this.dispatchedItems += batchSize;
    this.queueMs += totalQueueMs;
    this.histogram.set(batchSize, (this.histogram.get(batchSize) ?? 0) + 1);
  }

  finished(computeMs: number): void {
    this.finishedBatches++;
    this.computeMs += computeMs;
  }

  /** Mean run time of finished batches, or undefined before the first one finishes. */
  averageBatchMs(): number | undefined {
    return this.finishedBatches === 0 ? undefined : this.computeMs / this.finishedBatches;
  }

  snapshot(queueLength: number, inFlight: number): BatcherStats {
    const batchSizeHistogram: Record<number, number> = {};
    for (const [size, count] of [...this.histogram].sort((a, b) => a[0] - b[0])) batchSizeHistogram[size] = count;
    return {
      enqueued: this.enqueued,
      succeeded: this.succeeded,
      failed: this.failed,
      cancelled: this.cancelled,
      rejectedQueueFull: this.rejectedQueueFull,
      rejectedTimeout: this.rejectedTimeout,
      rejectedUnavailable: this.rejectedUnavailable,
      rejectedClosed: this.rejectedClosed,
      dispatchedBatches: this.dispatchedBatches,
      dispatchedItems: this.dispatchedItems,
      finishedBatches: this.finishedBatches,
      failedBatches: this.failedBatches,
      batchSizeHistogram,
      queueNs: Math.round(this.queueMs * NS_PER_MS),
      queueMs: this.queueMs,
      computeNs: Math.round(this.computeMs * NS_PER_MS),
      computeMs: this.computeMs,
      queueLength,
      peakQueueLength: this.peakQueueLength,
      inFlight,
    };
  }
}
