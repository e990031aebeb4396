/**
 * Dynamic batch scheduler: groups work items into batches per input shape and hands each batch
 * to a run function (in the server, a worker pool running one model instance per batch).
 *
 * Waiting only where it can help: while an instance is free, what a shape holds is dispatched at
 * once (a full batch or a preferred size first), so a lone request never waits for company that
 * may not come. Items accumulate while every instance is busy (at most maxInFlight batches run at
 * once), and a freed instance takes everything that gathered meanwhile. The one exception: while
 * items already admitted are being prepared (reservations), a free instance is held for them, at
 * most until the oldest item has waited maxQueueDelayMs (and with
 * waitWhenIdle, every partial batch waits that long, as in Triton). Dispatch
 * decisions run in a microtask after enqueue, so items enqueued in the same tick share a batch.
 *
 * Priority: high items (the default) are batched first in arrival order; low items fill the
 * remaining slots. A low item that has waited lowPriorityAgingMs joins the high order by its
 * arrival time, so it cannot starve. Between shapes, the one holding high (or aged low) work goes
 * first, then the one whose oldest such item is oldest.
 *
 * Run ledger: with a dispatch gate (the model pool's side of the server's run ledger), a free
 * instance is not enough; a batch is formed only once the gate grants the tokens of one run, and
 * items keep gathering while it does not. The lease goes with the batch to `run`, which holds it
 * until the batch settles; it is released here too when the run settles, in case `run` never took it.
 *
 * Admission: a caller that must prepare an item first (decode an image) reserves its place with
 * reserve() before doing that work, so a refused request costs no preparation and a burst cannot
 * all pass the check before any of it is queued. New work is refused with 503 when the queue
 * (reservations included) holds maxQueueSize items, and high-priority work also while the
 * expected wait, held items ÷ measured throughput, exceeds the latency budget (maxQueueWaitMs).
 */
import { overloaded, unavailable } from '../errors.js';
import type { Lease } from './core-ledger.js';
import { BatchStatsRecorder, ThroughputMeter, type BatcherStats } from './batch-stats.js';
import {
  admission,
  expectedWaitMs,
  readyBatchSize,
  resolveBatcherOptions,
  retryAfterSeconds,
  waitBudgetMs,
  type BatcherOptions,
  type Refusal,
  type ResolvedBatcherOptions,
} from './queue-policy.js';
import { ShapeQueue, type Priority, type ShapeRank, type Waiting } from './queue-shape.js';

export type { BatcherOptions } from './queue-policy.js';
export type { BatcherStats } from './batch-stats.js';
export type { Priority } from './queue-shape.js';

/**
 * Runs one batch. Must resolve to one output per item, in input order; an Error instance in a
 * slot fails only that item. A rejection fails every item of the batch.
 */
export type RunBatch<I, O> = (items: I[], info: { batchSize: number; shapeKey: string; lease?: Lease }) => Promise<Array<O | Error>>;

/** Grants the tokens of one run: at once when free (tryAcquire), or later through `request` (which returns a withdrawal). */
export interface DispatchGate {
  tryAcquire(): Lease | undefined;
  request(grant: (lease: Lease) => void): () => void;
}

export interface EnqueueOptions {
  /** Aborting while queued removes the item and rejects with an AbortError; after dispatch it is ignored. */
  signal?: AbortSignal;
  /** Default 'high'. */
  priority?: Priority;
  /** Items batch only with items of the same key (dynamic-shape models). Default ''. */
  shapeKey?: string;
  /** Latency budget for this item's queue wait; default the batcher's maxQueueWaitMs. */
  maxQueueWaitMs?: number;
}

export interface ReserveOptions {
  /** Default 'high'. Low-priority work is bounded only by maxQueueSize. */
  priority?: Priority;
  /** Latency budget for this item's queue wait; default the batcher's maxQueueWaitMs. */
  maxQueueWaitMs?: number;
}

/**
 * A place held in the batcher while its item is prepared. Exactly one of enqueue() or release()
 * must follow: enqueue() queues the item in the reserved place without checking admission again;
 * release() gives the place back (the preparation failed).
 */
export interface Reservation<I, O> {
  enqueue(item: I, options?: Omit<EnqueueOptions, 'priority' | 'maxQueueWaitMs'>): Promise<BatchResult<O>>;
  release(): void;
}

export interface BatchResult<O> {
  output: O;
  /** Time from enqueue to dispatch. */
  queueMs: number;
  /** Size of the batch the item ran in. */
  batchSize: number;
}

interface Pending<I, O> extends Waiting {
  readonly item: I;
  readonly shapeKey: string;
  readonly resolve: (result: BatchResult<O>) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const clock = (): number => performance.now();

function abortError(signal: AbortSignal): Error {
  const error = new Error('request aborted while queued', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

export class DynamicBatcher<I, O> {
  private readonly options: ResolvedBatcherOptions;
  private run: RunBatch<I, O>;
  private readonly shapes = new Map<string, ShapeQueue<Pending<I, O>>>();
  private readonly recorder = new BatchStatsRecorder();
  private readonly throughput: ThroughputMeter;
  private queued = 0;
  /** Places held by reserve() whose items are not queued yet. */
  private reserved = 0;
  private running = 0;
  /** Items inside running batches. */
  private runningItems = 0;
  private accepting = true;
  private closed = false;
  /** Set by drain(): partial batches go without waiting for the delay. */
  private flushing = false;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;
  private readonly gate: DispatchGate | undefined;
  /** Withdraws the request to the gate, while one waits. */
  private awaitingGrant: (() => void) | undefined;
  /** A grant received and not yet given to a batch. */
  private granted: Lease | undefined;

  constructor(options: BatcherOptions, run: RunBatch<I, O>, gate?: DispatchGate) {
    this.options = resolveBatcherOptions(options);
    this.throughput = new ThroughputMeter(this.options.maxBatchSize);
    this.run = DynamicBatcher.checkRun(run);
    this.gate = gate;
  }

  get queueLength(): number {
    return this.queued;
  }

  get inFlight(): number {
    return this.running;
  }

  get reservedCount(): number {
    return this.reserved;
  }

  /**
   * Holds a place for an item still to be prepared, counted as queued work from now on. Throws
   * 503 overloaded when the item would not be admitted and 503 unavailable while draining or closed.
   */
  reserve(options: ReserveOptions = {}): Reservation<I, O> {
    if (!this.accepting) {
      this.recorder.counts.rejectedUnavailable++;
      throw this.notAccepting();
    }
    const refusal = this.refusal(options);
    if (refusal !== undefined) throw this.refuse(refusal);
    this.reserved++;
    const priority: Priority = options.priority === 'low' ? 'low' : 'high';
    let held = true;
    const giveBack = (): void => {
      if (!held) throw new Error('reservation already used');
      held = false;
      this.reserved--;
      // A free instance may be held for this item; without it the queued ones may go now.
      if (this.queued > 0) this.schedulePump();
    };
    return {
      enqueue: (item, enqueueOptions = {}) => {
        giveBack();
        if (!this.accepting) {
          this.recorder.counts.rejectedUnavailable++;
          return Promise.reject(this.notAccepting());
        }
        return this.add(item, { ...enqueueOptions, priority });
      },
      release: giveBack,
    };
  }

  /** Queues one item, refusing it with 503 when it would not be admitted (see reserve()). */
  enqueue(item: I, options: EnqueueOptions = {}): Promise<BatchResult<O>> {
    if (!this.accepting) {
      this.recorder.counts.rejectedUnavailable++;
      return Promise.reject(this.notAccepting());
    }
    if (!options.signal?.aborted) {
      const refusal = this.refusal(options);
      if (refusal !== undefined) return Promise.reject(this.refuse(refusal));
    }
    return this.add(item, options);
  }

  private notAccepting(): Error {
    return unavailable(this.closed ? 'batcher is closed' : 'batcher is draining');
  }

  /** Measured items per millisecond of all instances together. */
  private totalItemsPerMs(): number | undefined {
    const perInstance = this.throughput.itemsPerMs();
    return perInstance === undefined ? undefined : perInstance * this.options.maxInFlight;
  }

  private expectedWait(): number | undefined {
    return expectedWaitMs({ reserved: this.reserved, queued: this.queued, runningItems: this.runningItems }, this.options, this.throughput.itemsPerMs());
  }

  private refusal(options: ReserveOptions): Refusal | undefined {
    const budget = options.maxQueueWaitMs ?? waitBudgetMs(this.options, this.throughput.batchMs());
    return admission(
      options.priority === 'low' ? 'low' : 'high',
      { reserved: this.reserved, queued: this.queued, runningItems: this.runningItems },
      this.options,
      this.expectedWait(),
      budget,
    );
  }

  private refuse(refusal: Refusal): Error {
    if (refusal.reason === 'queue_full') this.recorder.counts.rejectedQueueFull++;
    else this.recorder.counts.rejectedWaitBudget++;
    return overloaded(refusal.message, this.retryAfter());
  }

  /** Queues an admitted item. */
  private add(item: I, options: EnqueueOptions): Promise<BatchResult<O>> {
    const signal = options.signal;
    if (signal?.aborted) {
      this.recorder.accepted(this.queued);
      this.recorder.counts.cancelled++;
      return Promise.reject(abortError(signal));
    }
    return new Promise<BatchResult<O>>((resolve, reject) => {
      const entry: Pending<I, O> = {
        item,
        shapeKey: options.shapeKey ?? '',
        priority: options.priority === 'low' ? 'low' : 'high',
        enqueuedAt: clock(),
        queued: true,
        resolve,
        reject,
        signal,
        onAbort: undefined,
      };
      if (signal !== undefined) {
        entry.onAbort = () => this.cancel(entry);
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.shapeQueue(entry.shapeKey).push(entry);
      this.queued++;
      this.recorder.accepted(this.queued);
      this.schedulePump();
    });
  }

  stats(): BatcherStats {
    return this.recorder.snapshot(this.queued, this.running, {
      reserved: this.reserved,
      throughputPerMs: this.totalItemsPerMs(),
      expectedWaitMs: this.expectedWait(),
    });
  }

  /**
   * Stops accepting (new enqueues reject with 503 unavailable), dispatches everything queued
   * without waiting for fuller batches, and resolves once nothing is queued or running.
   */
  drain(): Promise<void> {
    this.accepting = false;
    this.flushing = true;
    this.drained ??= new Promise<void>((resolve) => {
      this.resolveDrained = resolve;
    });
    this.schedulePump();
    this.settleDrain();
    return this.drained;
  }

  /** Rejects everything queued with `reason` and stops accepting; running batches still finish. */
  close(reason?: Error): void {
    this.accepting = false;
    this.closed = true;
    this.clearTimer();
    this.awaitingGrant?.();
    this.awaitingGrant = undefined;
    this.granted?.release();
    this.granted = undefined;
    const error = reason ?? unavailable('batcher is closed');
    for (const shape of this.shapes.values()) {
      for (const entry of shape.removeAll()) {
        this.leaveQueue(entry);
        this.recorder.counts.rejectedClosed++;
        entry.reject(error);
      }
    }
    this.shapes.clear();
    this.settleDrain();
  }

  /** New batches go to `run`; batches already running finish on the function they started with. */
  setRun(run: RunBatch<I, O>): void {
    this.run = DynamicBatcher.checkRun(run);
  }

  private static checkRun<I, O>(run: RunBatch<I, O>): RunBatch<I, O> {
    if (typeof run !== 'function') throw new TypeError('batcher run must be a function');
    return run;
  }

  private shapeQueue(shapeKey: string): ShapeQueue<Pending<I, O>> {
    let shape = this.shapes.get(shapeKey);
    if (shape === undefined) {
      shape = new ShapeQueue(shapeKey);
      this.shapes.set(shapeKey, shape);
    }
    return shape;
  }

  /** Drops an empty shape so many short-lived shape keys do not slow down every pump. */
  private pruneShape(shape: ShapeQueue<Pending<I, O>>): void {
    if (shape.size === 0 && this.shapes.get(shape.shapeKey) === shape) this.shapes.delete(shape.shapeKey);
  }

  /** Bookkeeping for an entry leaving the queue by any path. */
  private leaveQueue(entry: Pending<I, O>): void {
    entry.queued = false;
    this.queued--;
    if (entry.onAbort !== undefined) {
      entry.signal?.removeEventListener('abort', entry.onAbort);
      entry.onAbort = undefined;
    }
  }

  private cancel(entry: Pending<I, O>): void {
    if (!entry.queued) return;
    const shape = this.shapes.get(entry.shapeKey);
    this.leaveQueue(entry);
    if (shape !== undefined) {
      shape.forget(entry);
      this.pruneShape(shape);
    }
    this.recorder.counts.cancelled++;
    entry.reject(abortError(entry.signal as AbortSignal));
    this.settleDrain();
  }

  private retryAfter(): number {
    return retryAfterSeconds(this.queued + this.reserved, this.options, this.recorder.averageBatchMs());
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Expires timed-out items, dispatches every ready batch a free slot allows, re-arms the timer. */
  private pump(): void {
    const now = clock();
    this.expire(now);
    while (this.running < this.options.maxInFlight && this.queued > 0) {
      let best: ShapeQueue<Pending<I, O>> | undefined;
      let bestRank: ShapeRank | undefined;
      let bestSize = 0;
      for (const shape of this.shapes.values()) {
        const oldest = shape.oldest();
        if (oldest === undefined) continue;
        const size = readyBatchSize(shape.size, now - oldest.enqueuedAt, this.options, this.flushing, this.reserved);
        if (size === 0) continue;
        const rank = shape.rank(now, this.options.lowPriorityAgingMs) as ShapeRank;
        if (bestRank === undefined || rank.tier < bestRank.tier || (rank.tier === bestRank.tier && rank.at < bestRank.at)) {
          best = shape;
          bestRank = rank;
          bestSize = size;
        }
      }
      if (best === undefined) break;
      let lease: Lease | undefined;
      if (this.gate !== undefined) {
        lease = this.granted ?? (this.awaitingGrant === undefined ? this.gate.tryAcquire() : undefined);
        this.granted = undefined;
        if (lease === undefined) {
          this.awaitGrant();
          break;
        }
      }
      this.dispatch(best, bestSize, now, lease);
    }
    // A grant that found nothing ready goes back at once; it is asked for again when something is.
    if (this.granted !== undefined) {
      this.granted.release();
      this.granted = undefined;
    }
    this.armTimer(now);
    this.settleDrain();
  }

  private awaitGrant(): void {
    if (this.awaitingGrant !== undefined || this.gate === undefined) return;
    this.awaitingGrant = this.gate.request((lease) => {
      this.awaitingGrant = undefined;
      if (this.closed) {
        lease.release();
        return;
      }
      this.granted?.release();
      this.granted = lease;
      this.schedulePump();
    });
  }

  private expire(now: number): void {
    const timeoutMs = this.options.queueTimeoutMs;
    if (timeoutMs === undefined) return;
    for (const shape of this.shapes.values()) {
      const expired = shape.takeArrivedBy(now - timeoutMs);
      if (expired.length === 0) continue;
      this.pruneShape(shape);
      for (const entry of expired) {
        this.leaveQueue(entry);
        this.recorder.counts.rejectedTimeout++;
        this.recorder.failedMs += now - entry.enqueuedAt;
        entry.reject(overloaded(`request waited more than ${timeoutMs} ms in the queue`, this.retryAfter()));
      }
    }
  }

  private dispatch(shape: ShapeQueue<Pending<I, O>>, size: number, now: number, lease: Lease | undefined): void {
    const entries = shape.take(size, now, this.options.lowPriorityAgingMs);
    this.pruneShape(shape);
    const items: I[] = new Array<I>(entries.length);
    let totalQueueMs = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      this.leaveQueue(entry);
      items[i] = entry.item;
      totalQueueMs += now - entry.enqueuedAt;
    }
    this.running++;
    this.runningItems += entries.length;
    this.recorder.dispatched(entries.length, totalQueueMs);

    const run = this.run;
    let outputs: Promise<Array<O | Error>>;
    try {
      outputs = Promise.resolve(run(items, { batchSize: entries.length, shapeKey: shape.shapeKey, ...(lease !== undefined ? { lease } : {}) }));
    } catch (error) {
      outputs = Promise.reject(error);
    }
    outputs.then(
      (results: unknown) => {
        lease?.release();
        this.finish(entries, now, { results });
      },
      (error: unknown) => {
        lease?.release();
        this.finish(entries, now, { error });
      },
    );
  }

  private finish(entries: Pending<I, O>[], dispatchedAt: number, outcome: { results: unknown } | { error: unknown }): void {
    this.running--;
    this.runningItems -= entries.length;
    const settledAt = clock();
    const batchMs = settledAt - dispatchedAt;
    this.recorder.finished(batchMs);
    let results: O[] | undefined;
    let error: unknown;
    if ('error' in outcome) {
      error = outcome.error;
    } else if (Array.isArray(outcome.results) && outcome.results.length === entries.length) {
      results = outcome.results as O[];
    } else {
      // A run that miscounts is a bug; failing the whole batch beats pairing outputs with the wrong items.
      const got = Array.isArray(outcome.results) ? `${outcome.results.length} outputs` : String(outcome.results);
      error = new Error(`batch run returned ${got} for a batch of ${entries.length} items`);
    }
    if (results === undefined) {
      this.recorder.counts.failedBatches++;
      this.recorder.counts.failed += entries.length;
      for (const entry of entries) {
        this.recorder.failedMs += settledAt - entry.enqueuedAt;
        entry.reject(error);
      }
    } else {
      const batchSize = entries.length;
      // Only batches that ran feed the throughput: a run that fails fast would claim a speed it never served.
      this.throughput.record(batchSize, batchMs);
      for (let i = 0; i < batchSize; i++) {
        const entry = entries[i];
        const output = results[i];
        if (output instanceof Error) {
          this.recorder.counts.failed++;
          this.recorder.failedMs += settledAt - entry.enqueuedAt;
          entry.reject(output);
        } else {
          this.recorder.counts.succeeded++;
          this.recorder.succeededMs += settledAt - entry.enqueuedAt;
          entry.resolve({ output, queueMs: dispatchedAt - entry.enqueuedAt, batchSize });
        }
      }
    }
    // A slot just freed: items that accumulated meanwhile go now, not at the next timer.
    this.pump();
  }

  /**
   * One timer for the earliest moment something becomes due: the end of a free instance's hold
   * for items being prepared (only while a slot is free; otherwise a finishing batch triggers the
   * next pump) or the oldest item's queue timeout.
   */
  private armTimer(now: number): void {
    let dueAt = Infinity;
    // While the gate is asked, its grant brings the next pump: a timer for a delay already past would spin.
    const waitForDelay = this.running < this.options.maxInFlight && !this.flushing && this.awaitingGrant === undefined;
    const timeoutMs = this.options.queueTimeoutMs;
    for (const shape of this.shapes.values()) {
      const oldest = shape.oldest();
      if (oldest === undefined) continue;
      if (waitForDelay) dueAt = Math.min(dueAt, oldest.enqueuedAt + this.options.maxQueueDelayMs);
      if (timeoutMs !== undefined) dueAt = Math.min(dueAt, oldest.enqueuedAt + timeoutMs);
    }
    if (dueAt === Infinity) {
      this.clearTimer();
      return;
    }
    // An earlier timer already pending re-arms itself when it fires.
    if (this.timer !== undefined && this.timerAt <= dueAt) return;
    this.clearTimer();
    this.timerAt = dueAt;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, Math.ceil(dueAt - now)),
    );
    // Waiting requests hold their own handles (sockets); the batcher must not keep the process alive.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private settleDrain(): void {
    if (this.resolveDrained !== undefined && this.queued === 0 && this.running === 0) {
      this.resolveDrained();
      this.resolveDrained = undefined;
    }
  }
}
