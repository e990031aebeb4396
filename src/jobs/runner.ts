import { performance } from 'node:perf_hooks';
import { sleep } from '../abortable-sleep.js';
import { SightlineError } from '../errors.js';
import { deleteHeld, renewEvery } from '../leased-work.js';
import { predictionAnswer } from '../engine/prediction-answer.js';
import { predict, type Prediction } from '../engine/predictor.js';
import type { ModelRepository, ModelStatus } from '../engine/repository.js';
import type { ImageLimits } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import { type Job, type Store, isTransientDatabaseError } from '../store/index.js';
import type { JobLease } from '../store/jobs.js';

export interface JobEvents {
  /** A job was queued or changed state. */
  changed(job: Job): void;
  deleted(id: string): void;
}

export interface JobRunnerOptions {
  store: Pick<Store, 'jobs' | 'blobs' | 'kind'>;
  models: ModelRepository;
  limits: ImageLimits;
  /** Jobs in flight at once. */
  concurrency: number;
  logger: Logger;
  events: JobEvents;
  /** This replica's id: the owner of the leases it takes. Unique per running replica. */
  replicaId: string;
  /** How long a claimed job stays this replica's without renewal; renewed every third of it. */
  leaseMs: number;
  /** About how often (jittered ±25 %) free slots look for claimable jobs in the database; default 1000 ms. */
  scanMs?: number;
}

/** A job whose model's queue is full (or draining for a reload) tries again, this many times in all. */
const MAX_ATTEMPTS = 20;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;
/** After the stop deadline, how long to wait for aborted jobs to settle. */
const ABORT_GRACE_MS = 1000;
const DEFAULT_SCAN_MS = 1000;

const RETRYABLE = new Set(['overloaded', 'unavailable']);

/**
 * A database step that fails for a transient reason (lost connection, deadlock, busy) is
 * tried again, this many times in all; after that the job goes back in the queue.
 */
const DB_MAX_ATTEMPTS = 8;

/** A job waiting here for a slot (or for its model), claimed by this replica or not yet. */
interface Item {
  readonly id: string;
  /** The job as this replica claimed it; undefined until claimed. */
  claimed?: Job;
  /** Out of a slot but still this replica's (waiting for its model, or for the database): its lease stays held. */
  parked: boolean;
}

/** A lease this replica holds. */
interface Hold {
  /** Epoch ms by this clock when it runs out unless renewed. */
  expiresAt: number;
  /** Its final write has started: that conditional write decides, a lost renewal no longer aborts it. */
  finishing: boolean;
}

/**
 * Runs async jobs through the model batchers at low priority, so synchronous requests go
 * first (low items age into the high order, so jobs cannot starve). The database is the
 * queue of record, shared by every replica using it: a replica runs a job only after
 * claiming it (a conditional update one replica wins) under a lease it renews while the job
 * runs. A job submitted here is claimed at once when a slot is free; free slots also look
 * for claimable jobs about every second: queued ones, and running ones whose lease ran out
 * because their replica died. A run finishes only while its replica still holds the lease.
 */
export class JobRunner {
  private readonly options: JobRunnerOptions;
  private readonly lease: JobLease;
  private readonly queue: Item[] = [];
  /** Claimed jobs whose model is still loading, by model: they go back in the queue when it settles. */
  private readonly deferred = new Map<string, Item[]>();
  private readonly running = new Map<string, AbortController>();
  private readonly tasks = new Set<Promise<void>>();
  /** Leases held: claimed jobs not finished here yet. */
  private readonly leases = new Map<string, Hold>();
  private started = false;
  private stopping = false;
  private scanTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  /** The last scan claimed all it asked for: more may be waiting, so a freed slot looks again at once. */
  private moreClaimable = false;
  private renewing = false;
  /** A failing scan is logged once until one succeeds again. */
  private scanFailing = false;
  private readonly onModelState = (status: ModelStatus) => {
    if (status.state === 'loading') return;
    const items = this.deferred.get(status.name);
    if (items === undefined) return;
    this.deferred.delete(status.name);
    for (const item of items) item.parked = false;
    this.queue.push(...items);
    this.pump();
  };

  constructor(options: JobRunnerOptions) {
    this.options = options;
    this.lease = { owner: options.replicaId, leaseMs: options.leaseMs };
  }

  /**
   * Picks up what a previous process left unfinished, then starts running jobs; returns how many
   * were picked up. On SQLite one process owns the database, so every running job is this
   * process's leftover. On MySQL/MariaDB other replicas may be running theirs: only the jobs this
   * replica id held, and those whose lease ran out, go back to queued; the scans find the rest.
   */
  async start(): Promise<number> {
    const { store, logger } = this.options;
    const sole = store.kind === 'sqlite';
    const reset = await store.jobs.resetRunning(sole ? undefined : { owner: this.lease.owner });
    let picked = reset;
    if (sole) {
      const unfinished = await store.jobs.listUnfinished();
      const known = new Set(this.queue.map((item) => item.id));
      for (const job of unfinished) if (!known.has(job.id)) this.queue.push({ id: job.id, parked: false });
      picked = unfinished.length;
    }
    if (picked > 0) logger.info({ jobs: picked, wereRunning: reset }, 'resuming unfinished jobs');
    this.options.models.on('state', this.onModelState);
    this.started = true;
    this.renewTimer = renewEvery(this.lease.leaseMs, () => void this.renewLeases());
    this.pump();
    void this.scan();
    this.scheduleScan();
    return picked;
  }

  /** Counts for logs and tests. */
  get counts(): { queued: number; deferred: number; running: number; leases: number } {
    let deferred = 0;
    for (const items of this.deferred.values()) deferred += items.length;
    return { queued: this.queue.length, deferred, running: this.running.size, leases: this.leases.size };
  }

  /** A job just created: announce it and claim it when a slot frees (unless another replica's scan got it first). */
  submit(job: Job): void {
    this.options.events.changed(job);
    if (this.stopping) return; // stays queued in the database for another replica or the next start
    this.queue.push({ id: job.id, parked: false });
    this.pump();
  }

  /** Deletes a job; one in flight is abandoned (taken out of its batcher queue if not yet dispatched). */
  async delete(id: string): Promise<boolean> {
    return deleteHeld(id, {
      remove: (raw) => this.options.store.jobs.delete(raw),
      drop: (canonical) => this.forget(canonical),
      deleted: (canonical) => this.options.events.deleted(canonical),
    });
  }

  /**
   * Stops starting jobs and waits up to `deadlineMs` for those in flight. Jobs still in flight
   * then are abandoned, and every lease still held (those, and claimed jobs that had not started)
   * is released: the jobs go back to queued, for another replica at once or the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.scanTimer);
    this.options.models.off('state', this.onModelState);
    // A scan in flight may still claim jobs: they are released with the rest.
    await this.scanning;
    let abandoned: string[] = [];
    if (!(await this.settled(deadlineMs))) {
      this.options.logger.warn({ jobs: this.running.size }, 'jobs still running at the shutdown deadline; they go back to the queue to run again');
      abandoned = [...this.leases.keys()];
      for (const controller of this.running.values()) controller.abort();
      await this.settled(ABORT_GRACE_MS);
    }
    const held = [...new Set([...abandoned, ...this.leases.keys()])];
    if (held.length > 0) {
      try {
        const released = await this.options.store.jobs.release(held, this.lease.owner);
        if (released > 0) this.options.logger.info({ jobs: released }, 'released the leases of jobs not finished here');
      } catch (err) {
        this.options.logger.warn({ err: (err as Error).message, jobs: held.length }, 'could not release job leases; they are taken over once they run out');
      }
    }
    clearInterval(this.renewTimer);
    this.leases.clear();
  }

  /** Waits up to `ms` for the jobs in flight; once stopping, no new ones start. */
  private async settled(ms: number): Promise<boolean> {
    if (this.tasks.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
    const all = Promise.allSettled([...this.tasks]).then(() => true);
    const done = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return done;
  }

  private pump(): void {
    while (this.started && !this.stopping && this.running.size < this.options.concurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (this.running.has(item.id)) continue;
      // Its lease was lost while it waited: it has to be claimed again.
      if (item.claimed !== undefined && !this.leases.has(item.id)) item.claimed = undefined;
      const controller = new AbortController();
      this.running.set(item.id, controller);
      const task = this.run(item, controller.signal)
        .catch((err: unknown) => this.requeueAfterFailure(item, err, controller.signal))
        .finally(() => {
          this.running.delete(item.id);
          if (!item.parked) this.leases.delete(item.id);
          this.tasks.delete(task);
          this.pump();
          if (this.moreClaimable && this.queue.length === 0) void this.scan();
        });
      this.tasks.add(task);
    }
  }

  private scheduleScan(): void {
    if (this.stopping) return;
    const every = this.options.scanMs ?? DEFAULT_SCAN_MS;
    // Jittered, so replicas started together do not scan in step.
    this.scanTimer = setTimeout(
      () => {
        void this.scan();
        this.scheduleScan();
      },
      every * (0.75 + Math.random() * 0.5),
    );
    this.scanTimer.unref();
  }

  /** Claims as many claimable jobs as there are free slots; one scan at a time, a request during one runs after it. */
  private scan(): Promise<void> {
    if (!this.started || this.stopping) return Promise.resolve();
    if (this.scanning !== undefined) {
      this.rescan = true;
      return this.scanning;
    }
    const free = this.options.concurrency - this.running.size - this.queue.length;
    if (free <= 0) return Promise.resolve();
    this.scanning = this.claimFree(free).finally(() => {
      this.scanning = undefined;
      if (this.rescan) {
        this.rescan = false;
        void this.scan();
      }
    });
    return this.scanning;
  }

  private async claimFree(free: number): Promise<void> {
    const { store, logger } = this.options;
    let claimed: Job[];
    try {
      claimed = await store.jobs.claimNext(this.lease, free);
      this.scanFailing = false;
    } catch (err) {
      if (!this.scanFailing) logger.warn({ err: (err as Error).message }, 'could not look for claimable jobs; trying again at the next scan');
      this.scanFailing = true;
      this.moreClaimable = false;
      return;
    }
    this.moreClaimable = claimed.length === free;
    for (const job of claimed) this.adopt(job);
    this.pump();
  }

  /** A job a scan claimed: held, announced, and run in the next free slot. */
  private adopt(job: Job): void {
    this.leases.set(job.id, { expiresAt: Date.now() + this.lease.leaseMs, finishing: false });
    // Already running here (its lease had run out meanwhile): the claim renewed it.
    if (this.running.has(job.id)) return;
    const waiting = this.queue.findIndex((item) => item.id === job.id);
    if (waiting !== -1) this.queue.splice(waiting, 1);
    this.options.events.changed(job);
    this.queue.push({ id: job.id, claimed: job, parked: false });
  }

  /** Renews every lease held in one update; a job found no longer ours stops here without writing. */
  private async renewLeases(): Promise<void> {
    if (this.renewing || this.leases.size === 0) return;
    this.renewing = true;
    const ids = [...this.leases.keys()];
    const at = Date.now();
    try {
      const held = await this.options.store.jobs.renew(ids, this.lease);
      for (const id of ids) {
        const hold = this.leases.get(id);
        if (hold === undefined) continue; // finished meanwhile
        if (held.has(id)) hold.expiresAt = at + this.lease.leaseMs;
        else this.lost(id);
      }
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, jobs: ids.length }, 'could not renew job leases; trying again');
      // Past its expiry another replica may already run it: stop rather than run it twice.
      const now = Date.now();
      for (const [id, hold] of this.leases) if (hold.expiresAt <= now) this.lost(id);
    } finally {
      this.renewing = false;
    }
  }

  /** Another replica holds the job now (or may): drop it here, writing nothing. */
  private lost(id: string): void {
    if (this.leases.get(id)?.finishing === true) return;
    this.options.logger.warn({ job: id }, 'job lease lost: another replica may have taken the job over; it stops here');
    this.forget(id);
  }

  /** Takes a job out of everything here: waiting, deferred, held, running (aborted). */
  private forget(id: string): void {
    const at = this.queue.findIndex((item) => item.id === id);
    if (at !== -1) this.queue.splice(at, 1);
    for (const items of this.deferred.values()) {
      const i = items.findIndex((item) => item.id === id);
      if (i !== -1) items.splice(i, 1);
    }
    this.leases.delete(id);
    this.running.get(id)?.abort();
  }

  /**
   * The database stayed unreachable through every retry of a step: the job keeps its
   * state in the database and runs again from there once the pause is over (or after a
   * restart). A claimed one stays held meanwhile (renewed, and released at stop). Anything
   * else escaping `run` is a bug, logged.
   */
  private requeueAfterFailure(item: Item, err: unknown, signal: AbortSignal): void {
    const { logger } = this.options;
    if (!isTransientDatabaseError(err)) {
      logger.error({ err, job: item.id }, 'job runner error');
      return;
    }
    if (signal.aborted) return;
    if (item.claimed !== undefined) item.parked = true;
    if (this.stopping) return;
    logger.warn({ err: (err as Error).message, job: item.id }, 'database unreachable while running a job; it runs again shortly');
    setTimeout(() => {
      if (this.stopping) return;
      item.parked = false;
      this.queue.push(item);
      this.pump();
    }, RETRY_MAX_MS).unref();
  }

  /** Runs one database step, trying again with backoff while it fails for a transient reason. */
  private async database<T>(step: () => Promise<T>, id: string, signal: AbortSignal): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (!isTransientDatabaseError(err) || attempt >= DB_MAX_ATTEMPTS || signal.aborted || this.stopping) throw err;
        if (attempt === 1) this.options.logger.warn({ err: (err as Error).message, job: id }, 'database step of a job failed; retrying');
        await sleep(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1)), signal);
        if (signal.aborted) throw err;
      }
    }
  }

  /** Claims a job submitted here (or picked up at start); undefined when another replica has it, or it finished or is gone. */
  private async claim(item: Item, signal: AbortSignal): Promise<Job | undefined> {
    const job = await this.database(() => this.options.store.jobs.claim(item.id, this.lease), item.id, signal);
    if (job === undefined) return undefined;
    item.claimed = job;
    this.leases.set(job.id, { expiresAt: Date.now() + this.lease.leaseMs, finishing: false });
    return this.announce(job, signal) ? job : undefined;
  }

  private async run(item: Item, signal: AbortSignal): Promise<void> {
    const { store, models } = this.options;
    const id = item.id;
    const job = item.claimed ?? (await this.claim(item, signal));
    if (job === undefined) return;
    if (models.status(job.model)?.state === 'loading') {
      item.parked = true;
      const items = this.deferred.get(job.model);
      if (items === undefined) this.deferred.set(job.model, [item]);
      else items.push(item);
      return;
    }
    try {
      models.assertServing(job.model);
    } catch (err) {
      await this.fail(id, err, signal);
      return;
    }
    const blob = await this.database(() => store.blobs.get(job.imageSha256), id, signal);
    if (blob === undefined) {
      await this.fail(id, new SightlineError(500, 'image_missing', `image ${job.imageSha256} is missing from the blob store`), signal);
      return;
    }
    const bytes = await this.database(() => blob.read(), id, signal);
    const started = performance.now();
    let prediction: Prediction;
    for (let attempt = 1; ; attempt++) {
      try {
        prediction = await predict(models, job.model, bytes, { signal, priority: 'low', limits: this.options.limits });
        break;
      } catch (err) {
        // Deleted, lease lost, or abandoned at shutdown: nothing to record (a shutdown's job runs again).
        if (signal.aborted || this.stopping) return;
        if (err instanceof SightlineError && RETRYABLE.has(err.code) && attempt < MAX_ATTEMPTS) {
          const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1), (err.retryAfter ?? Infinity) * 1000);
          await sleep(backoff, signal);
          if (signal.aborted) return;
          continue;
        }
        await this.fail(id, err, signal);
        return;
      }
    }
    if (signal.aborted) return;
    const result = predictionAnswer(job.model, prediction, performance.now() - started);
    this.finishing(id);
    const done = await this.transition(() => store.jobs.finishSucceeded(id, this.lease.owner, result), id, signal);
    if (done !== undefined) this.announce(done, signal);
  }

  /**
   * Announces a state change unless the job was deleted (or its lease lost) meanwhile: `delete`
   * aborts the signal before it announces the deletion, so nothing follows a `job.deleted` event.
   */
  private announce(job: Job, signal: AbortSignal): boolean {
    if (signal.aborted) return false;
    this.options.events.changed(job);
    return true;
  }

  /** The final write of a run has begun: a renewal that no longer finds the job ours leaves it to that write. */
  private finishing(id: string): void {
    const hold = this.leases.get(id);
    if (hold !== undefined) hold.finishing = true;
  }

  private async fail(id: string, err: unknown, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    let message: string;
    if (err instanceof SightlineError) {
      message = err.message;
    } else {
      this.options.logger.error({ err, job: id }, 'job failed with an unexpected error');
      message = 'internal error while running the job';
    }
    this.finishing(id);
    const failed = await this.transition(() => this.options.store.jobs.finishFailed(id, this.lease.owner, message), id, signal);
    if (failed !== undefined) this.announce(failed, signal);
  }

  /**
   * A final write is conditional on still holding the lease: undefined when the job was deleted,
   * taken over by another replica, or already finished. One retried after a lost connection may
   * find its own earlier attempt committed: that too reads as undefined, and the job is then
   * already where this write would have put it.
   */
  private async transition(change: () => Promise<Job | undefined>, id: string, signal: AbortSignal): Promise<Job | undefined> {
    try {
      return await this.database(change, id, signal);
    } catch (err) {
      if (err instanceof SightlineError && (err.status === 404 || err.status === 409)) return undefined;
      throw err;
    }
  }
}
