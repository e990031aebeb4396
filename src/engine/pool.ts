import { Piscina } from 'piscina';
import { fileURLToPath } from 'node:url';
import type { SessionInfo } from '../backends/backend.js';
import type { ModelSpec } from './manifest.js';
import type { DescribeReply, InferReply, WorkerItem, WorkerTask } from './worker-protocol.js';

const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * The instance group of one model version: a Piscina pool of `instances` worker threads, each owning
 * its own loaded model (an ONNX Runtime session or a TensorFlow.js model). A worker that dies fails
 * only the batch it was running; Piscina starts a replacement and the pool keeps serving.
 */
export class ModelPool {
  readonly spec: ModelSpec;
  private readonly piscina: Piscina<WorkerTask, InferReply | DescribeReply>;
  private workerRestarts = 0;
  private closed = false;

  constructor(spec: ModelSpec, onRestart?: () => void) {
    this.spec = spec;
    this.piscina = new Piscina({
      filename: WORKER_FILE,
      workerData: { spec },
      minThreads: spec.instances,
      maxThreads: spec.instances,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
    });
    // A worker error is reported through the failed task; the listener only keeps the emitter from throwing.
    this.piscina.on('error', () => {});
    // Piscina destroys a worker that errored or exited and starts a replacement: count those, not a close.
    this.piscina.on('workerDestroy', () => {
      if (this.closed) return;
      this.workerRestarts++;
      onRestart?.();
    });
  }

  get restarts(): number {
    return this.workerRestarts;
  }

  /** Worker threads of this pool (tests use them to kill one). */
  get threads() {
    return this.piscina.threads;
  }

  /** Loads the session in a worker and reports the device in use; rejects with the load error. */
  async describe(): Promise<SessionInfo> {
    const reply = (await this.piscina.run({ kind: 'describe' })) as DescribeReply;
    return reply.info;
  }

  /** Runs one batch; the pixel buffers are transferred to the worker and unusable here afterwards. */
  async infer(items: WorkerItem[]): Promise<InferReply> {
    const transferList = items.map((item) => item.pixels);
    return (await this.piscina.run({ kind: 'infer', items }, { transferList })) as InferReply;
  }

  /** Waits for running batches, then stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.piscina.close();
  }
}
