import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SessionInfo } from '../backends/backend.js';
import { unavailable } from '../errors.js';
import type { CoreLedger, Lease } from './core-ledger.js';
import type { ModelSpec } from './manifest.js';
import type { ProbeFigure, ProbeStep } from './worker-protocol.js';
import { Phase, type FromWorker, type InferReply, type LoadMemory, type ToWorker, type WorkerItem } from './worker-protocol.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));
/** How long a closing worker may take to release its model before it is left to exit on its own. */
const CLOSE_WAIT_MS = 5_000;
/** A replacement that fails to load is retried after this, doubling up to RESPAWN_MAX_MS. */
const RESPAWN_FIRST_MS = 500;
const RESPAWN_MAX_MS = 30_000;
/** A batch may wait this long, beyond its run deadline, for a replacement worker to load. */
const LOAD_WAIT_MS = 30_000;
/**
 * A worker's young generation: V8 lets it grow to 16 MiB semi-spaces, so a classifier worker that
 * allocates little between batches held 27 MiB of heap with 9 live; at 8 MiB it held 19. Only
 * collections get more frequent (cheap ones: a worker keeps few objects alive between batches).
 * The old generation is left unbounded: a cap there would end the worker, not slow it.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/** The session ran and failed (an ONNX Runtime error): the batch's pixels came back for a re-run. */
export class BatchRunError extends Error {
  readonly pixels: ArrayBuffer[];
  constructor(message: string, pixels: ArrayBuffer[]) {
    super(message);
    this.name = 'BatchRunError';
    this.pixels = pixels;
  }
}

interface Task {
  id: number;
  items: WorkerItem[];
  /** A calibration probe instead of a batch. */
  probe: { steps: ProbeStep[]; keep: boolean } | undefined;
  /** Threads its run may use: the ledger tokens it holds while on a worker. */
  threads: number;
  /** Held from dispatch to a worker until the task settles (or handed over by the batcher for its dispatch). */
  lease: Lease | undefined;
  /** Deadline of the run once on a worker. */
  runLimitMs: number;
  resolve: (reply: never) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  slot: Slot | undefined;
}

/** Threads one run of a loaded instance may use on the CPU: none on a GPU (see core-ledger.ts). */
function runThreadsOf(info: SessionInfo): number {
  return info.device === 'cuda' ? 0 : info.intraOpThreads;
}

interface Slot {
  index: number;
  worker: Worker;
  phase: Int32Array;
  loaded: boolean;
  /** Set once the worker is given up; later events about it change nothing. */
  gone: boolean;
  task: Task | undefined;
  info: SessionInfo | undefined;
  /** What loading the model cost this worker. */
  loadMemory: LoadMemory | undefined;
  /** Settles when the worker has loaded its model, or failed to. */
  ready: Promise<SessionInfo>;
  exited: Promise<number>;
}

const nativeTerminate = (worker: Worker): Promise<number> => Worker.prototype.terminate.call(worker);

/**
 * The instance group of one model version: `instances` worker threads, each owning its own loaded
 * model (an ONNX Runtime session or a TensorFlow.js model) and running one batch at a time.
 *
 * Faults stay inside the batch they hit: a worker that dies fails only the batch it was running
 * (503, retryable) and is replaced; a batch that has not finished within the run deadline
 * (`batching.runTimeoutMs`) fails the same way and its worker is replaced, so a stuck run never
 * holds the model. Workers are never terminated inside ONNX Runtime (see `Phase`): a busy worker
 * is asked to stop and exits by itself once its run returns, and `terminate()` on a pool worker
 * goes through the same path.
 *
 * With a run ledger, a batch goes to an idle worker only once the ledger grants its threads, and
 * gives them back however it ends (answer, failure, deadline, worker lost, close).
 */
export class ModelPool {
  readonly spec: ModelSpec;
  private readonly ledger: CoreLedger | undefined;
  /** Threads one run takes, known once the instances have loaded (a CUDA session takes none). */
  private runThreads: number;
  /** Withdraws the pool's request for tokens, while one waits. */
  private waitingForTokens: (() => void) | undefined;
  /** Tokens granted to the pool's request, not yet given to a task. */
  private granted: Lease | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly onRestart: (() => void) | undefined;
  private workerRestarts = 0;
  private nextId = 1;
  private started = false;
  private closed = false;
  private readonly respawnDelay: number[] = [];

  constructor(spec: ModelSpec, onRestart?: () => void, ledger?: CoreLedger) {
    this.spec = spec;
    this.onRestart = onRestart;
    this.ledger = ledger;
    this.runThreads = spec.device === 'cuda' ? 0 : spec.intraOpThreads;
    for (let i = 0; i < spec.instances; i++) {
      this.respawnDelay.push(RESPAWN_FIRST_MS);
      this.slots.push(this.spawn(i));
    }
  }

  get restarts(): number {
    return this.workerRestarts;
  }

  /** Worker threads of this pool (tests use them to kill one). */
  get threads(): Worker[] {
    return this.slots.map((slot) => slot.worker);
  }

  /**
   * Waits until every instance has loaded its model and reports the device of the first; rejects
   * with the load error of any instance that failed, so a version is ready only when all are.
   */
  async start(): Promise<SessionInfo> {
    const n = this.slots.length;
    const infos = await Promise.all(
      this.slots.map((slot) =>
        slot.ready.catch((err: Error) => {
          throw new Error(n === 1 ? err.message : `instance ${slot.index + 1} of ${n}: ${err.message}`, { cause: err });
        }),
      ),
    );
    this.started = true;
    this.runThreads = runThreadsOf(infos[0]);
    return infos[0];
  }

  /**
   * The batcher's side of the ledger: it forms a batch only once tokens for one run are granted,
   * and hands the lease to infer(). Undefined without a ledger.
   */
  get gate(): { tryAcquire(): Lease | undefined; request(grant: (lease: Lease) => void): () => void } | undefined {
    const ledger = this.ledger;
    if (ledger === undefined) return undefined;
    return { tryAcquire: () => ledger.tryAcquire(this.runThreads), request: (grant) => ledger.request(this.runThreads, grant) };
  }

  /**
   * Times synthetic batches on the first loaded instance (calibration at load), holding ledger
   * tokens for the widest step while it runs. Fails like a batch: a worker lost or a missed run
   * deadline rejects with a 503 and the worker is replaced.
   */
  probe(steps: ProbeStep[], keep: boolean): Promise<ProbeFigure[]> {
    if (this.closed) return Promise.reject(unavailable(`model ${this.spec.name} is closed`));
    return this.enqueue<ProbeFigure[]>({
      items: [],
      probe: { steps, keep },
      threads: Math.max(0, ...steps.map((s) => s.threads)),
      lease: undefined,
      // A probe is a warm-up and a few timed runs per step, each on a session it may open first.
      runLimitMs: this.spec.batching.runTimeoutMs * (1 + 5 * steps.length),
    });
  }

  /** What loading cost each worker loaded now. */
  loadMemory(): LoadMemory[] {
    return this.slots.flatMap((slot) => (slot.loadMemory ? [slot.loadMemory] : []));
  }

  /** Per-instance session info of the workers loaded now. */
  infos(): SessionInfo[] {
    return this.slots.flatMap((slot) => (slot.info ? [slot.info] : []));
  }

  /**
   * Runs one batch; the pixel buffers are transferred to the worker and unusable here afterwards
   * (a BatchRunError hands them back). Rejects with a retryable 503 when the worker dies or the
   * batch misses the run deadline, counted from its start on a worker (a batch waiting for a
   * replacement worker to load gives up after the deadline plus LOAD_WAIT_MS).
   */
  infer(items: WorkerItem[], lease?: Lease): Promise<InferReply> {
    if (this.closed) {
      lease?.release();
      return Promise.reject(unavailable(`model ${this.spec.name} is closed`));
    }
    return this.enqueue<InferReply>({ items, probe: undefined, threads: this.runThreads, lease, runLimitMs: this.spec.batching.runTimeoutMs });
  }

  /**
   * Queues a batch or a probe for the next free worker. Its wait for one ends after the run
   * deadline plus LOAD_WAIT_MS (time for a replacement worker to load).
   */
  private enqueue<T>(work: Pick<Task, 'items' | 'probe' | 'threads' | 'lease' | 'runLimitMs'>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const limit = this.spec.batching.runTimeoutMs + LOAD_WAIT_MS;
      const task: Task = { ...work, id: this.nextId++, resolve, reject, slot: undefined, timer: setTimeout(() => this.expire(task, limit), limit) };
      this.queue.push(task);
      this.pump();
    });
  }

  /** Stops the workers: idle ones release their models and exit; queued batches fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waitingForTokens?.();
    this.waitingForTokens = undefined;
    this.granted?.release();
    this.granted = undefined;
    for (const task of this.queue.splice(0)) this.settle(task, unavailable(`model ${this.spec.name} is closed`));
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.task) this.settle(slot.task, unavailable(`model ${this.spec.name} is closed`));
        if (Atomics.load(slot.phase, 0) === Phase.idle) slot.worker.postMessage({ kind: 'close' } satisfies ToWorker);
        else this.stop(slot);
        const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), CLOSE_WAIT_MS).unref());
        const waited = await Promise.race([slot.exited, late]);
        if (waited === 'late') this.stop(slot);
      }),
    );
  }

  private spawn(index: number): Slot {
    const control = new SharedArrayBuffer(4);
    const worker = new Worker(WORKER_FILE, {
      workerData: { spec: this.spec, control },
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    let loadedOk!: (info: SessionInfo) => void;
    let loadFailed!: (err: Error) => void;
    const ready = new Promise<SessionInfo>((resolve, reject) => {
      loadedOk = resolve;
      loadFailed = reject;
    });
    // A load failure is reported by start() or by the respawn; never as an unhandled rejection.
    ready.catch(() => undefined);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const slot: Slot = {
      index,
      worker,
      phase: new Int32Array(control),
      loaded: false,
      gone: false,
      task: undefined,
      info: undefined,
      loadMemory: undefined,
      ready,
      exited,
    };
    // Anyone terminating a pool worker (tests, tools) gets the stop that cannot abort the process.
    worker.terminate = () => {
      this.stop(slot);
      return exited;
    };

    worker.on('message', (message: FromWorker) => {
      switch (message.kind) {
        case 'loaded':
          slot.loaded = true;
          slot.info = message.info;
          slot.loadMemory = message.memory;
          this.respawnDelay[index] = RESPAWN_FIRST_MS;
          loadedOk(message.info);
          this.pump();
          return;
        case 'load-failed':
          loadFailed(new Error(message.message));
          this.lost(slot, `failed to load: ${message.message}`);
          return;
        case 'reply':
          return this.finish(slot, message.id, undefined, message.reply);
        case 'failed':
          return this.finish(slot, message.id, new BatchRunError(message.message, message.pixels));
        case 'probed':
          return this.finish(slot, message.id, undefined, message.figures);
        case 'probe-failed':
          return this.finish(slot, message.id, new Error(`calibration run failed: ${message.message}`));
      }
    });
    worker.on('error', (err) => {
      loadFailed(err);
      this.lost(slot, `error: ${err.message}`);
    });
    worker.on('exit', (code) => {
      loadFailed(new Error(`worker exited with code ${code} while loading`));
      this.lost(slot, `exited with code ${code}`);
    });
    return slot;
  }

  /** The slot's worker is gone or unusable: fail its batch, stop it, and start a replacement. */
  private lost(slot: Slot, reason: string): void {
    if (slot.gone || this.slots[slot.index] !== slot) return;
    slot.gone = true;
    if (slot.task) {
      const task = slot.task;
      slot.task = undefined;
      this.settle(task, unavailable(`model ${this.spec.name}: worker ${reason} while running a batch; it is being replaced`));
    }
    this.stop(slot);
    if (this.closed || !this.started) return;
    // A worker that served is replaced at once; one that failed to load is retried with a growing delay.
    const delay = slot.loaded ? 0 : this.respawnDelay[slot.index];
    if (!slot.loaded) this.respawnDelay[slot.index] = Math.min(delay * 2, RESPAWN_MAX_MS);
    const respawn = () => {
      if (this.closed || this.slots[slot.index] !== slot) return;
      this.workerRestarts++;
      this.slots[slot.index] = this.spawn(slot.index);
      this.onRestart?.();
    };
    if (delay === 0) respawn();
    else setTimeout(respawn, delay).unref();
  }

  /** Stops a worker without ever terminating it inside a native call. */
  private stop(slot: Slot): void {
    for (;;) {
      const phase = Atomics.load(slot.phase, 0);
      if (phase === Phase.idle) {
        if (Atomics.compareExchange(slot.phase, 0, Phase.idle, Phase.stopped) !== Phase.idle) continue;
        void nativeTerminate(slot.worker).catch(() => undefined);
        return;
      }
      if (phase === Phase.busy) {
        if (Atomics.compareExchange(slot.phase, 0, Phase.busy, Phase.stopRequested) !== Phase.busy) continue;
        // It exits by itself after its run; a run that never returns must not keep the process alive.
        slot.worker.unref();
        return;
      }
      return;
    }
  }

  private expire(task: Task, limit: number): void {
    const slot = task.slot;
    if (slot && slot.task === task) {
      slot.task = undefined;
      const what = task.probe ? 'calibration probe' : 'batch';
      this.settle(
        task,
        unavailable(`model ${this.spec.name}: ${what} did not finish within ${limit} ms (batching.runTimeoutMs); its worker is being replaced`),
      );
      this.lost(slot, 'missed the run deadline');
      this.pump();
      return;
    }
    const at = this.queue.indexOf(task);
    if (at >= 0) this.queue.splice(at, 1);
    this.settle(task, unavailable(`model ${this.spec.name}: no worker could take the batch within ${limit} ms`));
  }

  /** A worker's answer to task `id`: settles the slot's task, unless it is no longer that one (it expired meanwhile). */
  private finish(slot: Slot, id: number, error: Error | undefined, reply?: InferReply | ProbeFigure[]): void {
    const task = slot.task;
    if (!task || task.id !== id) return;
    slot.task = undefined;
    this.settle(task, error, reply);
    this.pump();
  }

  private settle(task: Task, error: Error | undefined, reply?: InferReply | ProbeFigure[]): void {
    clearTimeout(task.timer);
    task.slot = undefined;
    // However the task ends, its tokens go back (release is idempotent).
    task.lease?.release();
    task.lease = undefined;
    if (error) task.reject(error);
    else (task.resolve as (reply: InferReply | ProbeFigure[]) => void)(reply!);
  }

  private pump(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (!slot.loaded || slot.gone || slot.task) continue;
      const head = this.queue[0];
      if (head.lease === undefined && !this.takeTokens(head)) break;
      const task = this.queue.shift()!;
      slot.task = task;
      task.slot = slot;
      clearTimeout(task.timer);
      const limit = task.runLimitMs;
      task.timer = setTimeout(() => this.expire(task, limit), limit);
      try {
        const message: ToWorker = task.probe
          ? { kind: 'probe', id: task.id, steps: task.probe.steps, keep: task.probe.keep }
          : { kind: 'infer', id: task.id, items: task.items };
        slot.worker.postMessage(message, [...new Set(task.items.map((item) => item.pixels))]);
      } catch (err) {
        slot.task = undefined;
        this.settle(task, err as Error);
      }
    }
    // Tokens are for running: a task still waiting for a worker (one being replaced) holds none,
    // so it cannot keep another model, or the grant this pool waits for, from running.
    for (const task of this.queue) {
      task.lease?.release();
      task.lease = undefined;
    }
    if (this.granted !== undefined) {
      this.granted.release();
      this.granted = undefined;
    }
  }

  /** Gives the task its tokens when the ledger has them now; otherwise asks for them (once) and says no. */
  private takeTokens(task: Task): boolean {
    if (this.ledger === undefined) return true;
    const tokens = this.ledger.tokensFor(task.threads);
    if (this.granted !== undefined && this.granted.tokens === tokens) {
      task.lease = this.granted;
      this.granted = undefined;
      return true;
    }
    if (this.waitingForTokens === undefined) {
      const lease = this.ledger.tryAcquire(task.threads);
      if (lease !== undefined) {
        task.lease = lease;
        return true;
      }
      this.waitingForTokens = this.ledger.request(task.threads, (lease) => {
        this.waitingForTokens = undefined;
        this.granted?.release();
        this.granted = lease;
        // Dispatch outside the call that freed the tokens.
        queueMicrotask(() => {
          if (this.closed) {
            this.granted?.release();
            this.granted = undefined;
            return;
          }
          this.pump();
        });
      });
    }
    return false;
  }
}
