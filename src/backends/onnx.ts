import ort from 'onnxruntime-node';
import type { SessionSpec } from './session-spec.js';
import type { ArenaPolicy, LoadedModel, SessionInfo, TensorData, TensorMeta } from './backend.js';
import { isElementType, type TypedTensor } from './element-types.js';

// Older importers take these types from here.
export type { SessionInfo, TensorData } from './backend.js';

// A missing CUDA provider is reported through SessionInfo.fallbackReason; ONNX Runtime would also print it.
ort.env.logLevel = 'fatal';

export interface OnnxModel extends LoadedModel {
  session: ort.InferenceSession;
}

/**
 * How a session keeps its CPU memory between runs. ONNX Runtime's memory pattern plans one block
 * per input shape and takes it from the arena beside the buffers of the first run of that shape;
 * dynamic batching runs many shapes (every batch size), so with it the arena held up to twice the
 * largest run and grew with each new batch size: PP-OCRv4 detection at batch 4 (640²) took 615
 * MiB of RSS with it, 388 without, at the same speed (fastest interleaved runs within 3%: 51–53 ms
 * per image at batch 1, 63–64 at batch 4, one thread); the text-direction classifier 114 against
 * 101 MiB at batch 16, also at the same speed. CUDA sessions keep ONNX Runtime's default.
 */
export function arenaPolicy(spec: Pick<SessionSpec, 'memoryArena'>, provider: 'cpu' | 'cuda'): ArenaPolicy {
  const memPattern = provider === 'cuda';
  const arena = spec.memoryArena ? 'CPU arena on (the default)' : 'CPU arena off (memoryArena: false in the manifest)';
  const pattern = memPattern
    ? "memory pattern on (ONNX Runtime's default for CUDA sessions)"
    : 'memory pattern off (batches of many sizes would each hold a planned block)';
  return { cpuMemArena: spec.memoryArena, memPattern, reason: `${arena}; ${pattern}` };
}

/** Session options of every session, CPU or CUDA. */
function sessionOptions(
  spec: Pick<SessionSpec, 'intraOpThreads' | 'memoryArena'>,
  providers: ort.InferenceSession.ExecutionProviderConfig[] = ['cpu'],
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    intraOpNumThreads: spec.intraOpThreads,
    // One batch runs at a time per session; parallelism across operators only adds contention.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Failures reach callers as exceptions; ONNX Runtime's own stderr lines would only duplicate them.
    logSeverityLevel: 4,
    // The CPU arena keeps the largest batch ever seen allocated (bounded by the input side limit and
    // maxBatchSize); without it PP-OCRv4 detection ran 1.3× slower at batch 1 and 2.5× at batch 4,
    // so it stays on unless a manifest trades that speed for memory.
    enableCpuMemArena: spec.memoryArena,
    enableMemPattern: arenaPolicy(spec, providers.includes('cpu') ? 'cpu' : 'cuda').memPattern,
    // Spinning intra-op threads burn the cores that image decoding and the event loop need.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/**
 * Manifest CUDA options that onnxruntime-node 1.30 cannot pass on: its binding hands the CUDA
 * execution provider a device id and nothing else, so arena, memory limit and cuDNN search settings
 * stay at ONNX Runtime's defaults. Listed so the model's details can say which were not applied.
 */
export function unappliedCudaOptions(spec: Pick<SessionSpec, 'cuda'>): string[] {
  return Object.entries(spec.cuda ?? {})
    .filter(([, value]) => value !== undefined)
    .map(([key]) => `cuda.${key}`);
}

/**
 * Creates the ONNX Runtime session a worker owns. `cuda` is tried first when requested; without the
 * CUDA provider libraries or a visible GPU it falls back to CPU and records why, unless the manifest
 * says `strict`, in which case the load fails.
 */
export async function createOnnxSession(spec: SessionSpec): Promise<OnnxModel> {
  let fallbackReason: string | undefined;
  const notes: string[] = [];
  if (spec.device === 'cuda') {
    const unapplied = unappliedCudaOptions(spec);
    if (unapplied.length > 0) {
      notes.push(`${unapplied.join(', ')} not applied: onnxruntime-node passes only deviceId to the CUDA execution provider`);
    }
    const cuda: ort.InferenceSession.CudaExecutionProviderOption = { name: 'cuda', deviceId: spec.deviceId };
    try {
      const session = await ort.InferenceSession.create(spec.file, sessionOptions(spec, [cuda]));
      return wrap(session, describe(session, 'cuda', undefined, notes, spec));
    } catch (err) {
      const reason = `CUDA execution provider unavailable: ${(err as Error).message.split('\n')[0]}`;
      if (spec.strict) throw new Error(`${reason} (device "cuda" with strict: true, so no CPU fallback)`);
      fallbackReason = reason;
    }
  }
  const session = await ort.InferenceSession.create(spec.file, sessionOptions(spec, ['cpu']));
  return wrap(session, describe(session, 'cpu', fallbackReason, notes, spec));
}

function describe(session: ort.InferenceSession, device: 'cpu' | 'cuda', fallbackReason: string | undefined, notes: string[], spec: SessionSpec): SessionInfo {
  return {
    device,
    runtime: device === 'cuda' ? 'onnxruntime-cuda' : 'onnxruntime-cpu',
    fallbackReason,
    notes,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
    outputDims: Object.fromEntries(session.outputMetadata.flatMap((m) => (m.isTensor ? [[m.name, [...m.shape]]] : []))),
    inputTensors: session.inputMetadata.map(tensorMeta),
    outputTensors: session.outputMetadata.map(tensorMeta),
    intraOpThreads: spec.intraOpThreads,
    arenaPolicy: arenaPolicy(spec, device),
  };
}

/** A declared input or output; a symbolic or unknown dim is -1, a value that is not a tensor has no dims. */
function tensorMeta(m: ort.InferenceSession.ValueMetadata): TensorMeta {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', dims: [] };
  return { name: m.name, type: m.type, dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

function wrap(session: ort.InferenceSession, info: SessionInfo): OnnxModel {
  const model: OnnxModel = {
    session,
    info,
    run: (inputName, input, outputNames) => runOnnx(model, inputName, input, outputNames),
    runTensors: (inputs, outputNames) => runOnnxTensors(session, inputs, outputNames),
    release: () => session.release(),
  };
  return model;
}

/** Runs tensors in the model's own types and layout (the tensor entry); outputs keep the types ONNX Runtime gives them. */
async function runOnnxTensors(
  session: ort.InferenceSession,
  inputs: Record<string, TypedTensor>,
  outputNames?: readonly string[],
): Promise<Record<string, TypedTensor>> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.type, t.data as never, t.dims);
  try {
    const results = outputNames ? await session.run(feeds, [...outputNames]) : await session.run(feeds);
    const out: Record<string, TypedTensor> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!isElementType(value.type)) throw new Error(`output ${name} holds ${value.type} elements, which the tensor entry does not return`);
      out[name] = { type: value.type, dims: [...value.dims], data: value.data as TypedTensor['data'] };
    }
    return out;
  } finally {
    for (const tensor of Object.values(feeds)) tensor.dispose?.();
  }
}

/**
 * Runs one batch tensor through the session and returns every requested output. The input wraps
 * the worker's buffer without a copy and outputs come back as buffers ONNX Runtime allocated; the
 * Node binding has no IO binding or pinned host memory for CUDA, so ONNX Runtime copies between
 * host and device itself.
 */
async function runOnnx(model: OnnxModel, inputName: string, input: TensorData, outputNames?: readonly string[]): Promise<Record<string, TensorData>> {
  const type = input.data instanceof Uint8Array ? 'uint8' : 'float32';
  const tensor = new ort.Tensor(type, input.data as Float32Array, input.dims);
  const feeds = { [inputName]: tensor };
  const results = outputNames ? await model.session.run(feeds, [...outputNames]) : await model.session.run(feeds);
  const out: Record<string, TensorData> = {};
  for (const [name, value] of Object.entries(results)) {
    out[name] = { dims: [...value.dims], data: value.data as TensorData['data'] };
  }
  tensor.dispose?.();
  return out;
}
