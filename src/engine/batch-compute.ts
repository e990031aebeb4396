/** Worker time of the batches of one size that ran to the end: how many, and their fill, run and head time summed. */
export interface SizeCompute {
  batches: number;
  fillMs: number;
  runMs: number;
  headMs: number;
}

/**
 * Worker time by batch size (Triton's batch statistics), and when the last batch finished.
 * Times per item are a batch's time counted once for each item it held.
 */
export class BatchCompute {
  private readonly sizes = new Map<number, SizeCompute>();
  /** Epoch milliseconds of the last batch that ran, or 0 before the first. */
  lastRunAt = 0;

  record(size: number, timing: { fillMs: number; runMs: number; headMs: number }): void {
    let entry = this.sizes.get(size);
    if (entry === undefined) this.sizes.set(size, (entry = { batches: 0, fillMs: 0, runMs: 0, headMs: 0 }));
    entry.batches++;
    entry.fillMs += timing.fillMs;
    entry.runMs += timing.runMs;
    entry.headMs += timing.headMs;
    this.lastRunAt = Date.now();
  }

  /** Every batch size seen, smallest first. */
  bySize(): Array<{ size: number } & SizeCompute> {
    return [...this.sizes].sort((a, b) => a[0] - b[0]).map(([size, c]) => ({ size, ...c }));
  }
}
