import { performance } from 'node:perf_hooks';
import type { Kysely, Transaction } from 'kysely';
import { unavailable } from '../errors.js';
import { DiskSpace, isDiskFull } from './disk-full.js';
import { type StoreLogger, silentLogger } from './logger.js';

/**
 * One write: a function of the transaction it runs in. It may run twice (once in a
 * group that rolled back, once on its own), so it must not have effects outside the
 * transaction, and should compute ids and timestamps before it is submitted.
 */
export type WriteOperation<DB, T> = (trx: Transaction<DB>) => Promise<T>;

export interface GroupCommitCounters {
  /** Transactions committed (groups, plus one-by-one retries after a failed group). */
  groupsCommitted: number;
  /** Writes whose transaction committed. */
  writesCommitted: number;
  /** Writes rejected (their own transaction failed). */
  writesFailed: number;
  /** Groups that failed as a whole and were retried one write at a time. */
  groupsRetried: number;
  /** Writes waiting for or inside a transaction right now. */
  pending: number;
}

export interface GroupCommitOptions {
  /** How long the first write of a group waits for company; 0 commits every write on its own. */
  windowMs: number;
  /** A group this large commits without waiting out the window. */
  maxGroupSize?: number;
  logger?: StoreLogger;
  /** Called after each committed transaction with its latency (begin to durable commit); feeds the metrics histogram. */
  onCommit?: (info: { writes: number; latencyMs: number }) => void;
}

interface Entry<DB> {
  op: WriteOperation<DB, unknown>;
  /** performance.now() when submitted. */
  at: number;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: writes submitted within `windowMs` of each other run in one
 * transaction, so one durable commit (one fsync) covers all of them. Each caller's
 * promise settles only after its transaction committed or failed. While a group
 * commits, the next one fills up; it commits as soon as the previous one is done and
 * its window has passed. If a group fails, its writes are retried one by one, so a
 * single bad write fails alone.
 */
export class GroupCommitWriter<DB> {
  private readonly windowMs: number;
  private readonly maxGroupSize: number;
  private readonly logger: StoreLogger;
  private readonly onCommit: GroupCommitOptions['onCommit'];
  /** A full database disk answers 507, logged once until writes succeed again. */
  private readonly space: DiskSpace;
  private queue: Entry<DB>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private due = false;
  private committing = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly stats: GroupCommitCounters = {
    groupsCommitted: 0,
    writesCommitted: 0,
    writesFailed: 0,
    groupsRetried: 0,
    pending: 0,
  };

  constructor(
    private readonly db: Kysely<DB>,
    options: GroupCommitOptions,
  ) {
    if (!Number.isFinite(options.windowMs) || options.windowMs < 0 || options.windowMs > 1000) {
      throw new RangeError(`groupCommitMs must be from 0 to 1000, got ${options.windowMs}`);
    }
    const maxGroupSize = options.maxGroupSize ?? 1000;
    if (!Number.isInteger(maxGroupSize) || maxGroupSize < 1) {
      throw new RangeError(`maxGroupSize must be a positive integer, got ${maxGroupSize}`);
    }
    this.windowMs = options.windowMs;
    this.maxGroupSize = maxGroupSize;
    this.logger = options.logger ?? silentLogger;
    this.onCommit = options.onCommit;
    this.space = new DiskSpace(this.logger, 'database');
  }

  write<T>(op: WriteOperation<DB, T>): Promise<T> {
    if (this.closed) return Promise.reject(unavailable('the store is closed'));
    if (this.windowMs === 0) return this.writeAlone(op);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, at: performance.now(), resolve: resolve as (value: unknown) => void, reject });
      this.stats.pending += 1;
      if (this.queue.length >= this.maxGroupSize) this.fire();
      else if (this.timer === undefined && !this.due) this.timer = setTimeout(() => this.fire(), this.windowMs);
    });
  }

  counters(): GroupCommitCounters {
    return { ...this.stats };
  }

  /** Refuses new writes and waits for every accepted one to settle. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0) this.fire();
    await this.idle();
  }

  private idle(): Promise<void> {
    if (this.stats.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settled(count: number): void {
    this.stats.pending -= count;
    if (this.stats.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private fire(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.committing) {
      // Picked up as soon as the running commit finishes.
      this.due = true;
      return;
    }
    this.due = false;
    const group = this.queue.splice(0, this.maxGroupSize);
    if (group.length === 0) return;
    this.committing = true;
    void this.commitGroup(group).finally(() => {
      this.committing = false;
      const oldest = this.queue[0];
      if (oldest === undefined) return;
      const waited = performance.now() - oldest.at;
      if (this.due || this.closed || this.queue.length >= this.maxGroupSize || waited >= this.windowMs) this.fire();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.fire(), this.windowMs - waited);
    });
  }

  private async commitGroup(group: Entry<DB>[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.transaction(group.length, async (trx) => {
        const out: unknown[] = [];
        for (const entry of group) out.push(await entry.op(trx));
        return out;
      });
    } catch (err) {
      // A full disk refuses every write alike: retrying them one by one would only log more.
      if (group.length === 1 || isDiskFull(err)) {
        for (const entry of group) this.fail(entry, err);
        return;
      }
      this.stats.groupsRetried += 1;
      this.logger.warn({ writes: group.length, err: (err as Error)?.message }, 'group commit failed; retrying its writes one by one');
      for (const entry of group) {
        try {
          const value = await this.transaction(1, entry.op);
          entry.resolve(value);
          this.settled(1);
        } catch (retryErr) {
          this.fail(entry, retryErr);
        }
      }
      return;
    }
    group.forEach((entry, i) => entry.resolve(results[i]));
    this.settled(group.length);
  }

  private async writeAlone<T>(op: WriteOperation<DB, T>): Promise<T> {
    this.stats.pending += 1;
    try {
      return await this.transaction(1, op);
    } catch (err) {
      this.stats.writesFailed += 1;
      throw err;
    } finally {
      this.settled(1);
    }
  }

  private fail(entry: Entry<DB>, err: unknown): void {
    this.stats.writesFailed += 1;
    entry.reject(err);
    this.settled(1);
  }

  /** Runs one transaction and records it in the counters if it committed. */
  private async transaction<T>(writes: number, body: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    const started = performance.now();
    const value = await this.space.guard(async () => {
      // A controlled transaction, so a failed rollback cannot hide the error that caused it:
      // SQLite rolls back on its own after SQLITE_FULL, and ROLLBACK then fails with "no
      // transaction is active".
      const trx = await this.db.startTransaction().execute();
      try {
        const result = await body(trx);
        await trx.commit().execute();
        return result;
      } catch (err) {
        await trx
          .rollback()
          .execute()
          .catch(() => {});
        throw err;
      }
    });
    const latencyMs = performance.now() - started;
    const s = this.stats;
    s.groupsCommitted += 1;
    s.writesCommitted += writes;
    if (this.onCommit !== undefined) {
      // The data is committed: a failing observer must not turn that into an error.
      try {
        this.onCommit({ writes, latencyMs });
      } catch (err) {
        this.logger.warn({ err: (err as Error)?.message }, 'group commit observer threw');
      }
    }
    return value;
  }
}
