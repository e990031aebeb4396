/**
 * The batcher's options and the pure decisions made from them: when a queue with a free instance
 * dispatches and how large the batch is, how long low-priority items wait before they age into
 * the high-priority order, whether new work is admitted, and what Retry-After to suggest when
 * shedding load.
 */
import type { Priority } from './queue-shape.js';

export interface BatcherOptions {
  /** Largest batch handed to one run (≥ 1). */
  maxBatchSize: number;
  /**
   * Longest a free instance is held for items being prepared that would fill a batch, counted
   * from the oldest queued item (≥ 0; 0 never holds). Not a wait every item pays: with an
   * instance free and nothing on its way, what is queued goes at once.
   */
  maxQueueDelayMs: number;
  /** Sizes dispatched at once when available (the largest that fits wins), as in Triton. */
  preferredBatchSizes?: number[];
  /**
   * Hold a free instance for maxQueueDelayMs after the oldest item even when nothing is on its
   * way, as Triton's dynamic batcher does: fuller batches at light load for a delay every item
   * pays. For accelerators where a batch costs about what one item does. Default false.
   */
  waitWhenIdle?: boolean;
  /** Bound on queued (not yet dispatched) and reserved items; enqueue beyond it is rejected with 503. */
  maxQueueSize: number;
  /**
   * Latency budget for the queue: high-priority work is refused (503) while the expected wait,
   * (reserved + queued + running items) ÷ measured throughput, exceeds it. Default: the time of
   * DEFAULT_WAIT_BUDGET_BATCHES recent batches, at least DEFAULT_WAIT_BUDGET_MIN_MS. Before any
   * batch has finished only maxQueueSize applies.
   */
  maxQueueWaitMs?: number;
  /** An item still queued after this long is rejected with 503. */
  queueTimeoutMs?: number;
  /** Most batches running at once (the number of free model instances). */
  maxInFlight: number;
  /**
   * A low-priority item queued this long is ordered by arrival alongside high-priority items,
   * so a steady stream of high-priority work cannot starve it. Default: 10 × maxQueueDelayMs,
   * at least 100 ms, and at most half of queueTimeoutMs when that is set.
   */
  lowPriorityAgingMs?: number;
}

export interface ResolvedBatcherOptions {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  /** Distinct, largest first, so the first that fits is the largest that fits. */
  readonly preferredBatchSizes: readonly number[];
  readonly waitWhenIdle: boolean;
  readonly maxQueueSize: number;
  readonly maxQueueWaitMs: number | undefined;
  readonly queueTimeoutMs: number | undefined;
  readonly maxInFlight: number;
  readonly lowPriorityAgingMs: number;
}

const MIN_LOW_PRIORITY_AGING_MS = 100;
const LOW_PRIORITY_AGING_FACTOR = 10;
const MAX_RETRY_AFTER_S = 60;
/**
 * Without a configured budget, a new item may wait about this many batch times (enough queued
 * work to keep every instance busy between arrivals, little enough that what is admitted is
 * answered within a few batches), and at least DEFAULT_WAIT_BUDGET_MIN_MS so that a burst a
 * fast model clears in a blink is not refused.
 */
export const DEFAULT_WAIT_BUDGET_BATCHES = 5;
export const DEFAULT_WAIT_BUDGET_MIN_MS = 250;
/**
 * The budget never refuses while fewer than this many full batches per instance are held.
 * Closed-loop clients (a camera fleet, each waiting for its answer before sending the next) hold
 * at most one item each, so up to this many batches' worth of them (64 on one instance with
 * batches of 16) are never refused however slow a busy machine makes the model, while an
 * open-loop overload, which grows the queue without bound, is still shed with what is admitted
 * waiting about this many batch times. It also keeps batches full under load: refusing a shorter
 * queue would keep batches small, and small batches measure a slower throughput (their fixed cost
 * spread over fewer items), which would refuse still more, a loop that locks a busy model into a
 * trickle.
 */
export const ALWAYS_ADMITTED_FULL_BATCHES = 4;

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`batcher option ${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`batcher option ${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return value;
}

/** Validates options and fills in defaults; throws RangeError naming the offending option. */
export function resolveBatcherOptions(options: BatcherOptions): ResolvedBatcherOptions {
  const maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize);
  const maxQueueDelayMs = nonNegative('maxQueueDelayMs', options.maxQueueDelayMs);
  const maxQueueSize = positiveInteger('maxQueueSize', options.maxQueueSize);
  const maxInFlight = positiveInteger('maxInFlight', options.maxInFlight);
  let maxQueueWaitMs: number | undefined;
  if (options.maxQueueWaitMs !== undefined) {
    maxQueueWaitMs = nonNegative('maxQueueWaitMs', options.maxQueueWaitMs);
    if (maxQueueWaitMs === 0) throw new RangeError('batcher option maxQueueWaitMs must be > 0 when set');
  }

  let queueTimeoutMs: number | undefined;
  if (options.queueTimeoutMs !== undefined) {
    queueTimeoutMs = nonNegative('queueTimeoutMs', options.queueTimeoutMs);
    if (queueTimeoutMs === 0) throw new RangeError('batcher option queueTimeoutMs must be > 0 when set');
  }

  const preferred = new Set<number>();
  for (const size of options.preferredBatchSizes ?? []) {
    positiveInteger('preferredBatchSizes[]', size);
    if (size > maxBatchSize) {
      throw new RangeError(`batcher option preferredBatchSizes contains ${size}, above maxBatchSize ${maxBatchSize}`);
    }
    preferred.add(size);
  }

  let lowPriorityAgingMs: number;
  if (options.lowPriorityAgingMs !== undefined) {
    lowPriorityAgingMs = nonNegative('lowPriorityAgingMs', options.lowPriorityAgingMs);
  } else {
    lowPriorityAgingMs = Math.max(MIN_LOW_PRIORITY_AGING_MS, LOW_PRIORITY_AGING_FACTOR * maxQueueDelayMs);
    // Aging must happen before the queue timeout would reject the item, or aging never helps.
    if (queueTimeoutMs !== undefined) lowPriorityAgingMs = Math.min(lowPriorityAgingMs, queueTimeoutMs / 2);
  }

  return {
    maxBatchSize,
    maxQueueDelayMs,
    preferredBatchSizes: [...preferred].sort((a, b) => b - a),
    waitWhenIdle: options.waitWhenIdle === true,
    maxQueueSize,
    maxQueueWaitMs,
    queueTimeoutMs,
    maxInFlight,
    lowPriorityAgingMs,
  };
}

/**
 * How many items of one shape to dispatch on a free instance now, or 0 to hold them. A full batch
 * goes at once, and so does a preferred size (the largest that fits). Otherwise an idle instance
 * gains nothing by waiting for company that may never come, so everything queued goes at once,
 * unless items already admitted are still being prepared (`incoming`: reservations, whichever
 * shape they turn out to be). Those are known to be coming, within a decode: the instance is held
 * for them until the oldest item has waited maxQueueDelayMs, rather than run a batch short of
 * them and make them wait for its end. With waitWhenIdle every partial batch is held that long.
 * While flushing (draining) nothing is held.
 */
export function readyBatchSize(queued: number, oldestWaitedMs: number, options: ResolvedBatcherOptions, flushing: boolean, incoming: number): number {
  if (queued === 0) return 0;
  if (queued >= options.maxBatchSize) return options.maxBatchSize;
  if (flushing || oldestWaitedMs >= options.maxQueueDelayMs) return queued;
  for (const size of options.preferredBatchSizes) {
    if (size <= queued) return size;
  }
  return options.waitWhenIdle || incoming > 0 ? 0 : queued;
}

/**
 * Seconds a rejected client should wait: the time to run the current backlog at the measured
 * batch speed, at least 1 s (and 1 s while nothing has been measured), at most 60 s.
 */
export function retryAfterSeconds(backlog: number, options: ResolvedBatcherOptions, averageBatchMs: number | undefined): number {
  if (averageBatchMs === undefined || !(averageBatchMs > 0)) return 1;
  const waves = Math.ceil(Math.ceil(backlog / options.maxBatchSize) / options.maxInFlight);
  const seconds = Math.ceil((waves * averageBatchMs + options.maxQueueDelayMs) / 1000);
  return Math.min(MAX_RETRY_AFTER_S, Math.max(1, seconds));
}

/** Work the batcher holds: reserved (being prepared), queued, and inside running batches. */
export interface QueueLoad {
  readonly reserved: number;
  readonly queued: number;
  readonly runningItems: number;
}

/**
 * Milliseconds a new item would wait before its batch starts: everything held ahead of it at the
 * measured throughput of all instances together; undefined before any batch was measured.
 */
export function expectedWaitMs(load: QueueLoad, options: ResolvedBatcherOptions, instanceItemsPerMs: number | undefined): number | undefined {
  if (instanceItemsPerMs === undefined || !(instanceItemsPerMs > 0)) return undefined;
  return (load.reserved + load.queued + load.runningItems) / (instanceItemsPerMs * options.maxInFlight);
}

/** The wait budget in force: the configured one, or the default from recent batch times. */
export function waitBudgetMs(options: ResolvedBatcherOptions, recentBatchMs: number | undefined): number | undefined {
  if (options.maxQueueWaitMs !== undefined) return options.maxQueueWaitMs;
  return recentBatchMs === undefined ? undefined : Math.max(DEFAULT_WAIT_BUDGET_MIN_MS, DEFAULT_WAIT_BUDGET_BATCHES * recentBatchMs);
}

export type Refusal = { readonly reason: 'queue_full' | 'wait_budget'; readonly message: string };

/**
 * Whether one more item may enter: never beyond maxQueueSize (reservations included), and, for
 * high-priority work, not while the expected wait exceeds the budget (once at least
 * ALWAYS_ADMITTED_FULL_BATCHES full batches per instance are held). Low-priority work (jobs,
 * already accepted and stored) is never refused by the budget: it may wait, and it yields to
 * high-priority work until it ages.
 */
export function admission(
  priority: Priority,
  load: QueueLoad,
  options: ResolvedBatcherOptions,
  expectedMs: number | undefined,
  budgetMs: number | undefined,
): Refusal | undefined {
  if (load.queued + load.reserved >= options.maxQueueSize) {
    return { reason: 'queue_full', message: `queue is full (${options.maxQueueSize} items waiting)` };
  }
  const held = load.reserved + load.queued + load.runningItems;
  const alwaysAdmitted = ALWAYS_ADMITTED_FULL_BATCHES * options.maxBatchSize * options.maxInFlight;
  if (priority === 'high' && held >= alwaysAdmitted && expectedMs !== undefined && budgetMs !== undefined && expectedMs > budgetMs) {
    return {
      reason: 'wait_budget',
      message: `expected queue wait ${Math.round(expectedMs)} ms exceeds the model's ${Math.round(budgetMs)} ms budget`,
    };
  }
  return undefined;
}
