import type { TypedTensor } from './element-types.js';

/** What every inference backend offers a worker: a loaded model that runs one batch tensor at a time. */

export interface TensorData {
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** The library and device that actually run a model, as `/v1/models/{name}` reports it. */
export type Runtime = 'onnxruntime-cpu' | 'onnxruntime-cuda' | 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm';

/** How ONNX Runtime keeps the CPU memory of a session's runs (see README, "Memory"). */
export interface ArenaPolicy {
  /** The CPU arena keeps buffers for reuse, at the size of the largest batch seen, until the session ends. */
  cpuMemArena: boolean;
  /** One block planned per input shape (on top of the arena) instead of a buffer per tensor. */
  memPattern: boolean;
  /** Why these settings. */
  reason: string;
}

/** One input or output as the model declares it: element type and dims (a variable dim as -1). */
export interface TensorMeta {
  name: string;
  /** The runtime's element type: one of element-types.ts's ElementType, or the runtime's own name for one sightline does not carry (such as `string`). */
  type: string;
  dims: number[];
}

export interface SessionInfo {
  /** Device actually in use. */
  device: 'cpu' | 'cuda';
  runtime: Runtime;
  /** Why the requested device is not the one in use (CUDA requested, CPU running). */
  fallbackReason: string | undefined;
  /** Settings that were asked for but could not be applied, and runtimes that were skipped, with why. */
  notes: string[];
  inputNames: string[];
  outputNames: string[];
  /** Declared dims of each output where the runtime knows them (symbolic dims as their names). */
  outputDims?: Record<string, Array<number | string>>;
  /** Every input and output with its type and dims, where the runtime declares them (ONNX Runtime does). */
  inputTensors?: TensorMeta[];
  outputTensors?: TensorMeta[];
  /** Threads one batch may use inside the runtime. */
  intraOpThreads: number;
  /** ONNX Runtime sessions: how their CPU memory is kept between runs. */
  arenaPolicy?: ArenaPolicy;
}

export interface LoadedModel {
  info: SessionInfo;
  /** Runs one batch tensor and returns the requested outputs (all of them when none are named). */
  run(inputName: string, input: TensorData, outputNames?: readonly string[]): Promise<Record<string, TensorData>>;
  /** Runs tensors given in the model's own layout, one per input, and returns the requested outputs (all when none are named). */
  runTensors?(inputs: Record<string, TypedTensor>, outputNames?: readonly string[]): Promise<Record<string, TypedTensor>>;
  /** Frees the session or model (worker threads simply exit; benchmarks load several in one process). */
  release(): Promise<void>;
}
