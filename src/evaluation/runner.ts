import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { sleep } from '../abortable-sleep.js';
import { SightlineError } from '../errors.js';
import { deleteHeld, renewEvery } from '../leased-work.js';
import { predict, type Prediction } from '../engine/predictor.js';
import type { ModelRepository } from '../engine/repository.js';
import type { ImageLimits } from '../imaging/index.js';
import type { Logger } from '../logger.js';
import type { Evaluation, EvaluationSummary, Store } from '../store/index.js';
import type { EvaluationLease } from '../store/evaluations.js';
import type { Dataset, DatasetProblem } from './dataset.js';
import type { EvaluationReport } from './report.js';
import { type ModelFacts, type ScoreOptions, scorerFor, summaryOf, type TaskMetrics } from './scorers.js';

export interface EvaluationProgress {
  id: string;
  done: number;
  total: number;
  problems: number;
}

export interface EvaluationEvents {
  /** Created, started, finished or failed. */
  changed(evaluation: EvaluationSummary): void;
  /** Images done so far, at most a few times a second. */
  progress(progress: EvaluationProgress): void;
  deleted(id: string): void;
}

export interface EvaluationRunnerOptions {
  store: Pick<Store, 'evaluations' | 'kind'>;
  models: ModelRepository;
  limits: ImageLimits;
  logger: Logger;
  events: EvaluationEvents;
  /** Evaluations run at once; later ones wait, queued. Default 1. */
  concurrency?: number;
  /** This replica's id: the owner of the leases on the evaluations it holds. Unique per running replica. */
  replicaId: string;
  /** How long an evaluation stays this replica's without renewal; renewed every third of it. */
  leaseMs: number;
}

/** What a started evaluation runs over. */
export interface EvaluationRequest {
  model: string;
  dataset: Dataset;
  /** `folder` (under the datasets directory) or `upload`. */
  source: 'folder' | 'upload';
  facts: ModelFacts;
  options: ScoreOptions;
}

/** Problems listed in a report; the count covers them all. */
export const MAX_LISTED_PROBLEMS = 1000;
const PROGRESS_EVERY_MS = 250;
/** Overloaded or reloading: try an image again with back-off, this many times in all. */
const MAX_ATTEMPTS = 30;
const RETRY_MAX_MS = 2000;
const RETRYABLE = new Set(['overloaded', 'unavailable']);
const RESTARTED = 'the server stopped before this evaluation finished; start it again';
const REPLICA_GONE = 'the replica running this evaluation stopped renewing it (it died or lost the database); start it again';

interface Run {
  readonly request: EvaluationRequest;
  readonly controller: AbortController;
  done: number;
  problems: number;
  lastProgress: number;
  /** Its final write has started: that conditional write decides, a lost renewal no longer aborts it. */
  finishing: boolean;
}

function quantiles(values: readonly number[]): { p50: number | null; p99: number | null; mean: number | null; max: number | null } {
  if (values.length === 0) return { p50: null, p99: null, mean: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { p50: at(0.5), p99: at(0.99), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length), max: round(sorted.at(-1)!) };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** Stops the run: the evaluation was deleted, or the server is stopping. */
class Abandoned extends Error {}

/**
 * Runs evaluations: every image of a dataset through the model's batcher at low priority (live
 * requests go first; waiting images age into the high order, so an evaluation is not starved),
 * a bounded number in flight, then the task's metrics, stored as the report. Unreadable images
 * are reported and left out; a model that stops serving fails the evaluation. Datasets are not
 * kept, so an evaluation runs only on the replica it was submitted to, leased to it from creation
 * and renewed while it waits and runs: one the process did not finish is marked failed at the next
 * start, and one whose replica died is marked failed by any replica once its lease ran out.
 */
export class EvaluationRunner {
  private readonly options: EvaluationRunnerOptions;
  private readonly queue: Array<{ id: string; request: EvaluationRequest }> = [];
  private readonly runs = new Map<string, Run>();
  private readonly tasks = new Set<Promise<void>>();
  /** Evaluations leased to this replica: queued or running here. */
  private readonly leases = new Set<string>();
  private readonly lease: EvaluationLease;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private stopping = false;

  constructor(options: EvaluationRunnerOptions) {
    this.options = options;
    this.lease = { owner: options.replicaId, leaseMs: options.leaseMs };
  }

  /**
   * Marks what a previous process left unfinished as failed; returns how many. On SQLite one process
   * owns the database: every unfinished one. On MySQL/MariaDB only those this replica id held and
   * those nobody holds any more: other replicas' go on.
   */
  async start(): Promise<number> {
    const { store, logger } = this.options;
    const failed = await store.evaluations.failUnfinished(RESTARTED, store.kind === 'sqlite' ? undefined : { owner: this.lease.owner });
    if (failed > 0) logger.warn({ evaluations: failed }, 'evaluations left unfinished by the previous process marked failed');
    this.renewTimer = renewEvery(this.lease.leaseMs, () => void this.renewLeases());
    return failed;
  }

  /** Records a new evaluation and runs it when a slot frees. */
  async submit(request: EvaluationRequest): Promise<Evaluation> {
    const { dataset } = request;
    const evaluation = await this.options.store.evaluations.create({
      model: request.model,
      modelVersion: this.options.models.status(request.model)?.version ?? null,
      task: dataset.task,
      dataset: dataset.name,
      layout: dataset.layout,
      total: dataset.samples.length,
      problems: dataset.problems.length,
      lease: this.lease,
    });
    this.leases.add(evaluation.id);
    this.options.events.changed(evaluation);
    this.queue.push({ id: evaluation.id, request });
    this.pump();
    return evaluation;
  }

  /** Images done so far of an evaluation in flight. */
  progress(id: string): EvaluationProgress | undefined {
    const run = this.runs.get(id.toLowerCase());
    return run === undefined ? undefined : { id: id.toLowerCase(), done: run.done, total: run.request.dataset.samples.length, problems: run.problems };
  }

  /** Deletes an evaluation; one queued or running is abandoned. */
  async delete(id: string): Promise<boolean> {
    return deleteHeld(id, {
      remove: (raw) => this.options.store.evaluations.delete(raw),
      drop: (canonical) => this.drop(canonical),
      deleted: (canonical) => this.options.events.deleted(canonical),
    });
  }

  /** Takes an evaluation out of this replica: out of the queue, its run aborted, its lease no longer renewed. */
  private drop(id: string): void {
    const at = this.queue.findIndex((q) => q.id === id);
    if (at !== -1) this.queue.splice(at, 1);
    this.runs.get(id)?.controller.abort();
    this.leases.delete(id);
  }

  /**
   * Renews the leases held in one update; an evaluation found no longer ours (failed by another
   * replica after this one could not renew it) stops here without writing. Then, on a shared
   * database, fails the evaluations of any replica that stopped renewing them.
   */
  private async renewLeases(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    const { store, logger } = this.options;
    try {
      const ids = [...this.leases];
      if (ids.length > 0) {
        const held = await store.evaluations.renew(ids, this.lease);
        for (const id of ids) {
          if (held.has(id) || !this.leases.has(id) || this.runs.get(id)?.finishing === true) continue;
          logger.warn({ evaluation: id }, 'evaluation lease lost; it stops here');
          this.drop(id);
        }
      }
      // One SQLite file has one process: nobody else's evaluations to sweep.
      const expired = store.kind === 'sqlite' ? 0 : await store.evaluations.failExpired(REPLICA_GONE);
      if (expired > 0) logger.warn({ evaluations: expired }, 'evaluations whose replica stopped renewing them marked failed');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not renew evaluation leases; trying again');
    } finally {
      this.renewing = false;
    }
  }

  /** Stops: evaluations in flight are abandoned and marked failed. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const run of this.runs.values()) run.controller.abort();
    await Promise.allSettled([...this.tasks]);
    for (const { id } of this.queue.splice(0)) {
      await this.options.store.evaluations.finishFailed(id, this.lease.owner, 'the server stopped before this evaluation started').catch(() => {});
    }
    clearInterval(this.renewTimer);
    this.leases.clear();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 1;
    while (!this.stopping && this.runs.size < limit && this.queue.length > 0) {
      const { id, request } = this.queue.shift()!;
      const run: Run = {
        request,
        controller: new AbortController(),
        done: 0,
        problems: request.dataset.problems.length,
        lastProgress: 0,
        finishing: false,
      };
      // Every image in flight listens on the run's signal.
      setMaxListeners(0, run.controller.signal);
      this.runs.set(id, run);
      const task = this.run(id, run)
        .catch((err: unknown) => this.failed(id, run, err))
        .finally(() => {
          this.runs.delete(id);
          this.leases.delete(id);
          this.tasks.delete(task);
          this.pump();
        });
      this.tasks.add(task);
    }
  }

  private async failed(id: string, run: Run, err: unknown): Promise<void> {
    const { logger, store, events } = this.options;
    if (run.controller.signal.aborted && !this.stopping) return; // deleted, or its lease lost
    let message: string;
    if (this.stopping) message = RESTARTED;
    else if (err instanceof SightlineError) message = err.message;
    else {
      logger.error({ err, evaluation: id }, 'evaluation failed with an unexpected error');
      message = 'internal error while evaluating';
    }
    run.finishing = true;
    try {
      const failed = await store.evaluations.finishFailed(id, this.lease.owner, message, run.done);
      if (failed !== undefined) events.changed(failed);
    } catch (markErr) {
      if (!(markErr instanceof SightlineError && (markErr.status === 404 || markErr.status === 409)))
        logger.error({ err: markErr, evaluation: id }, 'could not record a failed evaluation');
    }
  }

  /** One image through the model, retried while the model is overloaded or between versions. */
  private async predictOne(model: string, bytes: Buffer, signal: AbortSignal): Promise<Prediction> {
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new Abandoned();
      try {
        return await predict(this.options.models, model, bytes, { signal, priority: 'low', limits: this.options.limits });
      } catch (err) {
        if (signal.aborted) throw new Abandoned();
        if (err instanceof SightlineError && RETRYABLE.has(err.code) && attempt < MAX_ATTEMPTS) {
          await sleep(Math.min(RETRY_MAX_MS, 50 * 2 ** (attempt - 1), (err.retryAfter ?? Infinity) * 1000), signal);
          continue;
        }
        throw err;
      }
    }
  }

  private async run(id: string, run: Run): Promise<void> {
    const { store, models, events } = this.options;
    const { request } = run;
    const { dataset } = request;
    const signal = run.controller.signal;
    // A pipeline's images all enter through its first step's model: that model's batches size the window.
    const pipeline = models.servingPipeline(request.model);
    const version = models.serving(pipeline === undefined ? request.model : pipeline.models[0]);
    const modelTask = pipeline === undefined ? version.spec.task : 'pipeline';
    const claimed = await store.evaluations.claim(id, this.lease);
    // Deleted meanwhile, or failed by another replica after this one could not renew its lease.
    if (claimed === undefined) return;
    if (signal.aborted) throw new Abandoned();
    events.changed(claimed);
    const startedVersion = models.status(request.model)?.version ?? null;

    const scorer = scorerFor(dataset, request.facts, request.options);
    const problems: DatasetProblem[] = [...dataset.problems];
    const latencies: number[] = [];
    const queueMs: number[] = [];
    const inferMs: number[] = [];
    let evaluated = 0;
    const window = Math.max(2, Math.min(64, version.spec.batching.maxBatchSize * Math.max(1, version.spec.instances) * 2));
    const started = performance.now();
    let next = 0;

    const one = async (i: number): Promise<void> => {
      const sample = dataset.samples[i];
      let bytes: Buffer;
      try {
        bytes = await dataset.files.read(sample.file);
      } catch (err) {
        problems.push({ file: sample.file, message: `unreadable file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        return;
      }
      const t0 = performance.now();
      let prediction: Prediction;
      try {
        prediction = await this.predictOne(request.model, bytes, signal);
      } catch (err) {
        // A bad image is the dataset's problem; a model that cannot serve ends the evaluation.
        if (err instanceof SightlineError && err.status !== 503 && err.status !== 507) {
          problems.push({ file: sample.file, message: `${err.status === 500 ? 'inference failed' : 'unreadable image'}: ${err.message}` });
          return;
        }
        throw err;
      }
      latencies.push(performance.now() - t0);
      queueMs.push(prediction.queueMs);
      inferMs.push(prediction.inferMs);
      const problem = await scorer.score(i, prediction);
      if (problem !== undefined) problems.push(problem);
      else evaluated++;
    };

    // The first failure stops every worker from taking another image; those in flight finish.
    let failure: unknown;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < dataset.samples.length) {
        const i = next++;
        try {
          await one(i);
        } catch (err) {
          failure ??= err;
          return;
        }
        run.done++;
        run.problems = problems.length;
        this.reportProgress(id, run, false);
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, dataset.samples.length) }, worker));
    if (signal.aborted) throw new Abandoned();
    if (failure !== undefined) throw failure instanceof Error ? failure : new Error('an image of the evaluation failed', { cause: failure });
    const wallMs = performance.now() - started;
    this.reportProgress(id, run, true);

    const metrics: TaskMetrics = scorer.metrics();
    const endedVersion = models.status(request.model)?.version ?? null;
    const report: EvaluationReport = {
      model: { name: request.model, task: modelTask, version: startedVersion, versionAtEnd: endedVersion, reloaded: startedVersion !== endedVersion },
      dataset: { name: dataset.name, source: request.source, layout: dataset.layout, files: dataset.files.paths.length, samples: dataset.samples.length },
      images: { total: dataset.samples.length, evaluated, leftOut: dataset.samples.length - evaluated },
      problems: { count: problems.length, listed: problems.slice(0, MAX_LISTED_PROBLEMS) },
      metrics,
      timing: {
        wallMs: round(wallMs),
        imagesPerSecond: wallMs > 0 ? round((run.done * 1000) / wallMs) : null,
        latencyMs: quantiles(latencies),
        queueMs: quantiles(queueMs),
        inferMs: quantiles(inferMs),
      },
      options: request.options,
    };
    const summary = { ...summaryOf(metrics), evaluated, imagesPerSecond: report.timing.imagesPerSecond };
    run.finishing = true;
    const done = await store.evaluations.finishSucceeded(id, this.lease.owner, { report, summary, done: run.done, problems: problems.length });
    if (done !== undefined && !signal.aborted) events.changed(done);
  }

  private reportProgress(id: string, run: Run, final: boolean): void {
    const now = performance.now();
    if (!final && now - run.lastProgress < PROGRESS_EVERY_MS && run.done < run.request.dataset.samples.length) return;
    run.lastProgress = now;
    if (run.controller.signal.aborted) return;
    this.options.events.progress({ id, done: run.done, total: run.request.dataset.samples.length, problems: run.problems });
  }
}
