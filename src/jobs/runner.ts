import { performance } from 'node:perf_hooks';
import { SightlineError } from '../errors.js';
import { predictionAnswer } from '../engine/prediction-answer.js';
import { predict, type Prediction } from '../engine/predictor.js';
import type { ModelRepository, ModelStatus } from '../engine/repository.js';
import type { ImageLimits } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import { type Job, type Store, isTransientDatabaseError } from '../store/index.js';

export interface JobEvents {
  /** A job was queued or changed state. */
  changed(job: Job): void;
  deleted(id: string): void;
}

export interface JobRunnerOptions {
  store: Pick<Store, 'jobs' | 'blobs'>;
  models: ModelRepository;
  limits: ImageLimits;
  /** Jobs in flight at once. */
  concurrency: number;
  logger: Logger;
  events: JobEvents;
}

/** A job whose model's queue is full (or draining for a reload) tries again, this many times in all. */
const MAX_ATTEMPTS = 20;
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 5000;
/** After the stop deadline, how long to wait for aborted jobs to settle. */
const ABORT_GRACE_MS = 1000;

const RETRYABLE = new Set(['overloaded', 'unavailable']);

/**
 * A database step that fails for a transient reason (lost connection, deadlock, busy) is
 * tried again, this many times in all; after that the job goes back in the queue.
 */
const DB_MAX_ATTEMPTS = 8;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs async jobs through the model batchers at low priority, so synchronous requests go
 * first (low items age into the high order, so jobs cannot starve). The database is the
 * queue of record: at start, jobs left queued or running by a previous process are run
 * again. In memory there is only the order of ids waiting for a slot.
 */
export class JobRunner {
  private readonly options: JobRunnerOptions;
  private readonly queue: string[] = [];
  /** Jobs whose model is still loading, by model: they go back in the queue when it settles. */
  private readonly deferred = new Map<string, string[]>();
  private readonly running = new Map<string, AbortController>();
  private readonly tasks = new Set<Promise<void>>();
  private started = false;
  private stopping = false;
  private readonly onModelState = (status: ModelStatus) => {
    if (status.state === 'loading') return;
    const ids = this.deferred.get(status.name);
    if (ids === undefined) return;
    this.deferred.delete(status.name);
    this.queue.push(...ids);
    this.pump();
  };

  constructor(options: JobRunnerOptions) {
    this.options = options;
  }

  /** Picks up what a previous process left unfinished, then starts running jobs; returns how many were picked up. */
  async start(): Promise<number> {
    const { store, logger } = this.options;
    const reset = await store.jobs.resetRunning();
    const unfinished = await store.jobs.listUnfinished();
    const known = new Set(this.queue);
    for (const job of unfinished) if (!known.has(job.id)) this.queue.push(job.id);
    if (unfinished.length > 0) logger.info({ jobs: unfinished.length, wereRunning: reset }, 'resuming unfinished jobs');
    this.options.models.on('state', this.onModelState);
    this.started = true;
    this.pump();
    return unfinished.length;
  }

  /** Counts for logs and tests. */
  get counts(): { queued: number; deferred: number; running: number } {
    let deferred = 0;
    for (const ids of this.deferred.values()) deferred += ids.length;
    return { queued: this.queue.length, deferred, running: this.running.size };
  }

  /** A job just created: announce it and run it when a slot frees. */
  submit(job: Job): void {
    this.options.events.changed(job);
    if (this.stopping) return; // stays queued in the database for the next start
    this.queue.push(job.id);
    this.pump();
  }

  /** Deletes a job; one in flight is abandoned (taken out of its batcher queue if not yet dispatched). */
  async delete(id: string): Promise<boolean> {
    const deleted = await this.options.store.jobs.delete(id);
    if (!deleted) return false;
    const canonical = id.toLowerCase();
    const at = this.queue.indexOf(canonical);
    if (at !== -1) this.queue.splice(at, 1);
    for (const ids of this.deferred.values()) {
      const i = ids.indexOf(canonical);
      if (i !== -1) ids.splice(i, 1);
    }
    this.running.get(canonical)?.abort();
    this.options.events.deleted(canonical);
    return true;
  }

  /**
   * Stops starting jobs and waits up to `deadlineMs` for those in flight. Jobs still in
   * flight then are abandoned: they stay `running` in the database and run again after
   * the next start.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.options.models.off('state', this.onModelState);
    if (!(await this.settled(deadlineMs))) {
      this.options.logger.warn({ jobs: this.running.size }, 'jobs still running at the shutdown deadline; they will run again after restart');
      for (const controller of this.running.values()) controller.abort();
      await this.settled(ABORT_GRACE_MS);
    }
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
      const id = this.queue.shift()!;
      if (this.running.has(id)) continue;
      const controller = new AbortController();
      this.running.set(id, controller);
      const task = this.run(id, controller.signal)
        .catch((err: unknown) => this.requeueAfterFailure(id, err, controller.signal))
        .finally(() => {
          this.running.delete(id);
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }

  /**
   * The database stayed unreachable through every retry of a step: the job keeps its
   * state in the database and runs again from there once the pause is over (or after a
   * restart). Anything else escaping `run` is a bug, logged.
   */
  private requeueAfterFailure(id: string, err: unknown, signal: AbortSignal): void {
    const { logger } = this.options;
    if (!isTransientDatabaseError(err)) {
      logger.error({ err, job: id }, 'job runner error');
      return;
    }
    if (signal.aborted || this.stopping) return;
    logger.warn({ err: (err as Error).message, job: id }, 'database unreachable while running a job; it runs again shortly');
    setTimeout(() => {
      if (this.stopping) return;
      this.queue.push(id);
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

  private async run(id: string, signal: AbortSignal): Promise<void> {
    const { store, models } = this.options;
    const job = await this.database(() => store.jobs.get(id), id, signal);
    if (job === undefined || job.status === 'succeeded' || job.status === 'failed') return;
    if (models.status(job.model)?.state === 'loading') {
      const ids = this.deferred.get(job.model);
      if (ids === undefined) this.deferred.set(job.model, [id]);
      else ids.push(id);
      return;
    }
    try {
      models.assertServing(job.model);
    } catch (err) {
      await this.fail(id, err, signal);
      return;
    }
    if (job.status === 'queued') {
      const running = await this.transition(() => store.jobs.markRunning(id), id, signal);
      if (running === undefined) return;
      if (!this.announce(running, signal)) return;
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
        // Deleted, or abandoned at shutdown: nothing to record (a shutdown's job runs again after restart).
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
    const result = predictionAnswer(job.model, prediction, performance.now() - started);
    const done = await this.transition(() => store.jobs.markSucceeded(id, result), id, signal);
    if (done !== undefined) this.announce(done, signal);
  }

  /**
   * Announces a state change unless the job was deleted meanwhile: `delete` aborts the
   * signal before it announces the deletion, so nothing follows a `job.deleted` event.
   */
  private announce(job: Job, signal: AbortSignal): boolean {
    if (signal.aborted) return false;
    this.options.events.changed(job);
    return true;
  }

  private async fail(id: string, err: unknown, signal: AbortSignal): Promise<void> {
    let message: string;
    if (err instanceof SightlineError) {
      message = err.message;
    } else {
      this.options.logger.error({ err, job: id }, 'job failed with an unexpected error');
      message = 'internal error while running the job';
    }
    const failed = await this.transition(() => this.options.store.jobs.markFailed(id, message), id, signal);
    if (failed !== undefined) this.announce(failed, signal);
  }

  /**
   * A state change that finds the job deleted (404) or already moved on (409) is skipped.
   * One retried after a lost connection may find its own earlier attempt committed: that
   * too reads as 409, and the job is then already where this change would have put it.
   */
  private async transition(change: () => Promise<Job>, id: string, signal: AbortSignal): Promise<Job | undefined> {
    try {
      return await this.database(change, id, signal);
    } catch (err) {
      if (err instanceof SightlineError && (err.status === 404 || err.status === 409)) return undefined;
      throw err;
    }
  }
}
