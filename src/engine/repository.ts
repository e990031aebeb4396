import { EventEmitter } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Runtime, SessionInfo } from '../backends/backend.js';
import { notFound, SightlineError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { BatcherStats } from './batcher.js';
import type { Measure } from './calibration.js';
import { Calibrator } from './calibrator.js';
import { CoreLedger } from './core-ledger.js';
import { planInstances, type ModelPlan, type PlanInput } from './instance-plan.js';
import { loadManifest, planInputFor, withPlan, type ModelSpec } from './manifest.js';
import type { EngineObserver } from './engine-observer.js';
import type { ModelMemoryReport } from './model-memory.js';
import { ModelVersion, type ComputeStats } from './model-version.js';
import { isPipelineManifest, loadPipelineManifest, type PipelineSpec } from '../pipelines/manifest.js';
import { pipelineReadiness, type PipelineReadiness, type PipelineStepView } from '../pipelines/readiness.js';

export type ModelState = 'loading' | 'ready' | 'failed' | 'unloading' | 'unloaded';

export interface ModelStatus {
  name: string;
  state: ModelState;
  version: number;
  error?: string;
  task?: string;
  description?: string;
  /**
   * Device requested by the manifest and device in use, with the reason when they differ; the
   * runtime that runs the model; settings that could not be applied.
   */
  device?: {
    requested: 'cpu' | 'cuda';
    actual: 'cpu' | 'cuda';
    runtime: Runtime;
    fallbackReason?: string;
    notes?: string[];
    intraOpThreads: number;
    instances: number;
  };
  loadedAt?: string;
  /** A pipeline's steps, with the state of each step's model. */
  steps?: PipelineStepView[];
}

export interface ModelDetail extends ModelStatus {
  spec?: Omit<ModelSpec, 'head' | 'plan'> & { head: Record<string, unknown> };
  /** How instances and intraOpThreads were chosen (with the figures, when calibration measured them). */
  plan?: Pick<ModelPlan, 'instances' | 'intraOpThreads' | 'chosenBy' | 'reason' | 'calibration'>;
  inputs?: string[];
  outputs?: string[];
  statistics?: BatcherStats & { compute: ComputeStats; workerRestarts: number };
  memory?: ModelMemoryReport;
}

interface Entry {
  name: string;
  dir: string;
  state: ModelState;
  error: string | undefined;
  current: ModelVersion | undefined;
  versions: number;
  loadedAt: Date | undefined;
  /** Serialises load/unload of one model. */
  busy: Promise<unknown>;
  /** The plan made for the models loaded together at start, until this model's load uses it. */
  planned: ModelPlan | undefined;
  /** Set for a pipeline entry (task "pipeline"), which has no version of its own. */
  pipeline: PipelineSpec | undefined;
}

/**
 * The model repository and its lifecycle: discovers `<modelsDir>/<name>/model.json`, loads each
 * model into a version (pool + batcher), reloads without downtime, unloads, and reports state.
 * Emits `state` with a ModelStatus whenever a model changes state.
 */
export class ModelRepository extends EventEmitter<{ state: [ModelStatus] }> {
  private readonly modelsDir: string;
  private readonly only: string[];
  private readonly logger: Logger;
  private readonly entries = new Map<string, Entry>();
  private closed = false;
  readonly observer: EngineObserver | undefined;
  /** Cores the models' instances and threads share. */
  readonly cores: number;
  /** The server's run ledger: every model's runs together hold at most `cores` threads. */
  readonly ledger: CoreLedger;
  private readonly calibrator: Calibrator;

  /**
   * `dataDir` holds the calibration cache; `calibrate: false` keeps the size rule's plan without
   * measuring; `measure` replaces calibration's probe runs (tests inject figures).
   */
  constructor(options: {
    modelsDir: string;
    models: string[];
    logger: Logger;
    observer?: EngineObserver;
    cores?: number;
    dataDir?: string;
    calibrate?: boolean;
    measure?: Measure;
  }) {
    super();
    this.cores = options.cores ?? availableParallelism();
    this.ledger = new CoreLedger(this.cores);
    this.modelsDir = options.modelsDir;
    this.only = options.models;
    this.logger = options.logger;
    this.observer = options.observer;
    this.calibrator = new Calibrator({
      cores: this.cores,
      ledger: this.ledger,
      logger: this.logger,
      dataDir: options.dataDir,
      enabled: options.calibrate,
      measure: options.measure,
    });
  }

  /** Model folders to load at start: the configured list, or every folder holding a model.json. */
  discover(): string[] {
    if (this.only.length > 0) return [...this.only];
    if (!existsSync(this.modelsDir)) return [];
    return readdirSync(this.modelsDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(this.modelsDir, d.name, 'model.json')))
      .map((d) => d.name)
      .sort();
  }

  /** Loads every discovered model; a model that fails is reported and the others keep going. */
  async loadAll(): Promise<void> {
    const names = this.discover();
    for (const name of names) this.entry(name);
    // One plan for all the models that start together; a manifest that fails is left to its load.
    const inputs: PlanInput[] = [];
    for (const name of names) {
      try {
        inputs.push(planInputFor(loadManifest(this.entry(name).dir)));
      } catch {
        /* reported by its load */
      }
    }
    const plans = planInstances(this.cores, inputs);
    for (const name of names) this.entry(name).planned = plans.get(name);
    await Promise.all(names.map((name) => this.load(name).catch(() => undefined)));
  }

  /** (Re)loads a model from disk. New instances come up first; traffic then switches; the old version drains. */
  load(name: string): Promise<ModelStatus> {
    if (this.closed) return Promise.reject(new SightlineError(503, 'shutting_down', 'server is shutting down'));
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return Promise.reject(notFound(`model ${JSON.stringify(name)} not found`));
    const dir = path.join(this.modelsDir, name);
    if (!existsSync(path.join(dir, 'model.json'))) return Promise.reject(notFound(`model ${JSON.stringify(name)} not found in ${this.modelsDir}`));
    const entry = this.entry(name);
    const task = entry.busy.then(() => this.doLoad(entry));
    entry.busy = task.catch(() => undefined);
    return task;
  }

  private async doLoad(entry: Entry): Promise<ModelStatus> {
    if (isPipelineManifest(entry.dir)) return this.loadPipeline(entry);
    const previous = entry.current;
    if (!previous) this.setState(entry, 'loading');
    let version: ModelVersion | undefined;
    try {
      const manifest = loadManifest(entry.dir);
      const plan = entry.planned ?? this.planAmongRunning(entry.name, manifest);
      entry.planned = undefined;
      const calibrated = await this.calibrator.calibrate(withPlan(manifest, plan), () => this.observer?.workerRestart(entry.name));
      const spec = calibrated.spec;
      version = new ModelVersion(spec, entry.versions + 1, this.observer, { ledger: this.ledger, ...(calibrated.pool ? { pool: calibrated.pool } : {}) });
      const info = await version.start();
      entry.versions++;
      entry.current = version;
      entry.error = undefined;
      entry.loadedAt = new Date();
      this.setState(entry, 'ready');
      if (info.fallbackReason) this.logger.warn({ model: entry.name, reason: info.fallbackReason }, 'model runs on CPU instead of CUDA');
      for (const note of info.notes) this.logger.warn({ model: entry.name, note }, 'model loaded with a caveat');
      this.logger.info(
        {
          model: entry.name,
          version: version.version,
          device: info.device,
          runtime: info.runtime,
          instances: spec.instances,
          intraOpThreads: info.intraOpThreads,
          chosenBy: spec.plan?.chosenBy ?? plan.chosenBy,
          reason: spec.plan?.reason ?? plan.reason,
        },
        'model ready',
      );
    } catch (err) {
      await version?.pool.close().catch(() => undefined);
      entry.error = (err as Error).message;
      this.logger.error({ model: entry.name, err: entry.error }, 'model failed to load');
      // A failed reload leaves the running version serving.
      if (!previous) this.setState(entry, 'failed');
      throw new SightlineError(previous ? 409 : 500, 'model_load_failed', `model ${entry.name} failed to load: ${entry.error}`);
    }
    if (previous) {
      previous.retire().catch((err: unknown) => this.logger.error({ model: entry.name, err }, 'retiring old model version failed'));
    }
    return this.status(entry.name)!;
  }

  /**
   * A pipeline loads its manifest only; it serves while the models its steps name serve. A
   * reload that fails keeps the manifest loaded before.
   */
  private loadPipeline(entry: Entry): ModelStatus {
    try {
      entry.pipeline = loadPipelineManifest(entry.dir);
    } catch (err) {
      entry.error = (err as Error).message;
      this.logger.error({ model: entry.name, err: entry.error }, 'pipeline failed to load');
      if (!entry.pipeline) this.setState(entry, 'failed');
      throw new SightlineError(entry.pipeline ? 409 : 500, 'model_load_failed', `pipeline ${entry.name} failed to load: ${entry.error}`);
    }
    entry.versions++;
    entry.error = undefined;
    entry.loadedAt = new Date();
    this.setState(entry, 'ready');
    this.logger.info({ model: entry.name, version: entry.versions, steps: entry.pipeline.steps.length, models: entry.pipeline.models }, 'pipeline loaded');
    return this.status(entry.name)!;
  }

  /**
   * The plan for one model loaded on its own (a reload, a load through the API): the models
   * serving, or about to, keep what they have (the ledger, not the plan, shares the cores).
   */
  private planAmongRunning(name: string, manifest: ModelSpec): ModelPlan {
    const inputs: PlanInput[] = [planInputFor(manifest)];
    for (const other of this.entries.values()) {
      if (other.name === name) continue;
      const held = other.current ? other.current.spec : other.planned;
      if (held) inputs.push({ name: other.name, instances: held.instances, intraOpThreads: held.intraOpThreads });
    }
    return planInstances(this.cores, inputs).get(name)!;
  }

  /** Unloads a model: new requests get 503 at once; queued and running ones finish. */
  unload(name: string): Promise<ModelStatus> {
    const entry = this.entries.get(name);
    if (!entry) return Promise.reject(notFound(`model ${JSON.stringify(name)} not found`));
    const task = entry.busy.then(async () => {
      const current = entry.current;
      entry.current = undefined;
      entry.pipeline = undefined;
      if (current) {
        this.setState(entry, 'unloading');
        await current.retire();
      }
      this.setState(entry, 'unloaded');
      return this.status(name)!;
    });
    entry.busy = task.catch(() => undefined);
    return task;
  }

  /** The version serving a model now, or the error a request for it should get. */
  serving(name: string): ModelVersion {
    const entry = this.entries.get(name);
    if (!entry) throw notFound(`model ${JSON.stringify(name)} not found`);
    if (entry.current) return entry.current;
    if (entry.pipeline) {
      this.servingPipeline(name);
      throw new SightlineError(400, 'not_a_model', `${name} is a pipeline, not a model`);
    }
    if (entry.state === 'failed') throw new SightlineError(503, 'model_unavailable', `model ${name} failed to load: ${entry.error}`, { retryAfter: 5 });
    throw new SightlineError(503, 'model_unavailable', `model ${name} is ${entry.state}`, { retryAfter: 1 });
  }

  /**
   * The pipeline a name holds when every model its steps name serves; undefined for a model
   * (or nothing by that name); 503 while a step model does not serve.
   */
  servingPipeline(name: string): PipelineSpec | undefined {
    const entry = this.entries.get(name);
    if (!entry?.pipeline) return undefined;
    const readiness = this.readinessOf(entry.pipeline);
    if (readiness.state !== 'ready') {
      throw new SightlineError(503, 'model_unavailable', `pipeline ${name} is not ready: ${readiness.reasons.join('; ')}`, {
        retryAfter: readiness.state === 'loading' ? 1 : 5,
      });
    }
    return entry.pipeline;
  }

  /** 404 for a name not in the repository, 503 for a model or pipeline that cannot answer now. */
  assertServing(name: string): void {
    if (this.servingPipeline(name) === undefined) this.serving(name);
  }

  private readinessOf(spec: PipelineSpec): PipelineReadiness {
    return pipelineReadiness(spec, (model) => {
      const e = this.entries.get(model);
      if (!e) return undefined;
      return { state: e.state, pipeline: e.pipeline !== undefined, ...(e.error ? { error: e.error } : {}) };
    });
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  status(name: string): ModelStatus | undefined {
    const entry = this.entries.get(name);
    return entry === undefined ? undefined : this.statusOf(entry);
  }

  private statusOf(entry: Entry): ModelStatus {
    const name = entry.name;
    if (entry.pipeline) {
      const r = this.readinessOf(entry.pipeline);
      return {
        name,
        state: r.state,
        version: entry.versions,
        ...(r.reasons.length > 0 && r.state === 'failed' ? { error: r.reasons.join('; ') } : entry.error ? { error: entry.error } : {}),
        task: 'pipeline',
        ...(entry.pipeline.description ? { description: entry.pipeline.description } : {}),
        ...(entry.loadedAt ? { loadedAt: entry.loadedAt.toISOString() } : {}),
        steps: r.steps,
      };
    }
    const v = entry.current;
    const info: SessionInfo | undefined = v?.info;
    return {
      name,
      state: entry.state,
      version: entry.versions,
      ...(entry.error ? { error: entry.error } : {}),
      ...(v ? { task: v.spec.task, ...(v.spec.description ? { description: v.spec.description } : {}) } : {}),
      ...(v && info
        ? {
            device: {
              requested: v.spec.device,
              actual: info.device,
              runtime: info.runtime,
              ...(info.fallbackReason ? { fallbackReason: info.fallbackReason } : {}),
              ...(info.notes.length > 0 ? { notes: [...info.notes] } : {}),
              intraOpThreads: info.intraOpThreads,
              instances: v.spec.instances,
            },
          }
        : {}),
      ...(entry.loadedAt ? { loadedAt: entry.loadedAt.toISOString() } : {}),
    };
  }

  detail(name: string): ModelDetail | undefined {
    const status = this.status(name);
    const v = this.entries.get(name)?.current;
    if (!status || !v) return status;
    const { plan, ...spec } = v.spec;
    return {
      ...status,
      spec: { ...spec, head: summariseHead(spec.head) },
      ...(plan
        ? {
            plan: {
              instances: v.spec.instances,
              intraOpThreads: v.spec.intraOpThreads,
              chosenBy: plan.chosenBy,
              reason: plan.reason,
              ...(plan.calibration ? { calibration: plan.calibration } : {}),
            },
          }
        : {}),
      inputs: v.info?.inputNames ?? [],
      outputs: v.info?.outputNames ?? [],
      statistics: { ...v.stats(), compute: { ...v.compute }, workerRestarts: v.pool.restarts },
      memory: v.memoryReport(),
    };
  }

  /** Queue figures of every serving model, for metrics. */
  queueGauges(): Array<{ name: string; queueLength: number; inFlight: number }> {
    const out = [];
    for (const entry of this.entries.values()) {
      if (entry.current) out.push({ name: entry.name, queueLength: entry.current.batcher.queueLength, inFlight: entry.current.batcher.inFlight });
    }
    return out;
  }

  list(): ModelStatus[] {
    return this.names().map((n) => this.status(n)!);
  }

  /** Why the server is not ready: every configured model must be serving. */
  notReadyReasons(): string[] {
    const reasons: string[] = [];
    for (const entry of this.entries.values()) {
      if (entry.pipeline) {
        const r = this.readinessOf(entry.pipeline);
        if (r.state !== 'ready') reasons.push(`pipeline ${entry.name} is not ready: ${r.reasons.join('; ')}`);
      } else if (entry.state === 'loading') reasons.push(`model ${entry.name} is loading`);
      else if (entry.state === 'failed') reasons.push(`model ${entry.name} failed to load: ${entry.error}`);
    }
    return reasons;
  }

  /** Drains every model and stops all workers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.entries.values()].map(async (entry) => {
        await entry.busy;
        const current = entry.current;
        entry.current = undefined;
        await current?.retire();
      }),
    );
  }

  private entry(name: string): Entry {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = {
        name,
        dir: path.join(this.modelsDir, name),
        state: 'loading',
        error: undefined,
        current: undefined,
        versions: 0,
        loadedAt: undefined,
        busy: Promise.resolve(),
        planned: undefined,
        pipeline: undefined,
      };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private setState(entry: Entry, state: ModelState): void {
    entry.state = state;
    this.emit('state', this.statusOf(entry));
    // A pipeline's state follows its step models'.
    for (const other of this.entries.values()) {
      if (other.pipeline?.models.includes(entry.name)) this.emit('state', this.statusOf(other));
    }
  }
}

/** Long label lists and charsets are summarised in model details rather than dumped whole. */
function summariseHead(head: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(head)) {
    out[k] = Array.isArray(v) && v.length > 64 ? { count: v.length, first: v.slice(0, 16) } : v;
  }
  return out;
}
