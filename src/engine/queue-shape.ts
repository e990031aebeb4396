import { RingQueue } from './queue-ring.js';

export type Priority = 'high' | 'low';

/** What the per-shape queue needs to know about a waiting item. */
export interface Waiting {
  readonly enqueuedAt: number;
  readonly priority: Priority;
  /** False once the item left the queue (dispatched, cancelled, timed out, closed). */
  queued: boolean;
}

/** Below this many removed entries a lane is not worth compacting. */
const COMPACT_MIN_REMOVED = 64;

/**
 * A FIFO of one priority. Items cancelled from the middle are only marked (O(1)) and skipped
 * when they reach the front; the buffer is compacted once removed entries outnumber live ones,
 * which keeps memory bounded and removal amortised O(1).
 */
class Lane<T extends Waiting> {
  private readonly ring = new RingQueue<T>();
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(entry: T): void {
    this.ring.push(entry);
    this.live++;
  }

  /** The oldest item still queued. */
  peek(): T | undefined {
    let front = this.ring.peek();
    while (front !== undefined && !front.queued) {
      this.ring.shift();
      front = this.ring.peek();
    }
    return front;
  }

  /** Removes and returns the oldest item still queued; the caller marks it no longer queued. */
  shift(): T | undefined {
    const front = this.peek();
    if (front !== undefined) {
      this.ring.shift();
      this.live--;
    }
    return front;
  }

  /** Accounts for an entry of this lane that was marked no longer queued in place. */
  forget(): void {
    this.live--;
    const removed = this.ring.size - this.live;
    if (removed > COMPACT_MIN_REMOVED && removed > this.live) this.ring.retain((entry) => entry.queued);
  }

  /** Removes every queued item, oldest first. */
  removeAll(): T[] {
    const all: T[] = [];
    for (let entry = this.shift(); entry !== undefined; entry = this.shift()) all.push(entry);
    this.ring.clear();
    return all;
  }
}

const older = <T extends Waiting>(a: T | undefined, b: T | undefined): T | undefined =>
  a === undefined ? b : b === undefined ? a : b.enqueuedAt < a.enqueuedAt ? b : a;

/** How a shape competes with other shapes for the next free slot: lower tier first, then older. */
export interface ShapeRank {
  readonly tier: 0 | 1;
  readonly at: number;
}

/**
 * The items waiting for one input shape, in two lanes. High-priority items (and low ones that
 * have aged past `agingMs`) are taken first in arrival order; fresh low-priority items fill
 * whatever slots remain.
 */
export class ShapeQueue<T extends Waiting> {
  private readonly high = new Lane<T>();
  private readonly low = new Lane<T>();

  constructor(readonly shapeKey: string) {}

  get size(): number {
    return this.high.size + this.low.size;
  }

  push(entry: T): void {
    this.lane(entry.priority).push(entry);
  }

  /** Call after marking a queued entry of this shape no longer queued (e.g. aborted). */
  forget(entry: T): void {
    this.lane(entry.priority).forget();
  }

  oldest(): T | undefined {
    return older(this.high.peek(), this.low.peek());
  }

  rank(now: number, agingMs: number): ShapeRank | undefined {
    const high = this.high.peek();
    const low = this.low.peek();
    const agedLow = low !== undefined && now - low.enqueuedAt >= agingMs ? low : undefined;
    const first = older(high, agedLow);
    if (first !== undefined) return { tier: 0, at: first.enqueuedAt };
    return low === undefined ? undefined : { tier: 1, at: low.enqueuedAt };
  }

  /** Removes up to `count` items in batch order; the caller marks them no longer queued. */
  take(count: number, now: number, agingMs: number): T[] {
    const batch: T[] = [];
    while (batch.length < count) {
      const high = this.high.peek();
      const low = this.low.peek();
      if (high === undefined && low === undefined) break;
      const fromLow = high === undefined || (low !== undefined && now - low.enqueuedAt >= agingMs && low.enqueuedAt < high.enqueuedAt);
      batch.push((fromLow ? this.low : this.high).shift() as T);
    }
    return batch;
  }

  /** Removes items that arrived at or before `cutoff` (queue timeout); oldest first per lane. */
  takeArrivedBy(cutoff: number): T[] {
    const expired: T[] = [];
    for (const lane of [this.high, this.low]) {
      for (let entry = lane.peek(); entry !== undefined && entry.enqueuedAt <= cutoff; entry = lane.peek()) {
        expired.push(lane.shift() as T);
      }
    }
    return expired;
  }

  removeAll(): T[] {
    return [...this.high.removeAll(), ...this.low.removeAll()];
  }

  private lane(priority: Priority): Lane<T> {
    return priority === 'low' ? this.low : this.high;
  }
}
