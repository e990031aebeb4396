import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import type { SessionSpec } from './session-spec.js';
import { mappedLibraries, nvidiaGpuVisibility } from './gpu-visibility.js';

export type Tf = typeof TF;
export type TfjsRuntimeName = 'tfjs-node-gpu' | 'tfjs-node' | 'tfjs-wasm';

/** A TensorFlow.js runtime loaded into this thread. */
export interface LoadedRuntime {
  tf: Tf;
  /** tfjs-node-gpu only: TensorFlow registered a GPU (its CUDA libraries loaded). */
  gpuInUse?: boolean;
}

export interface TfjsRuntimeChoice {
  name: TfjsRuntimeName;
  tf: Tf;
  device: 'cpu' | 'cuda';
  fallbackReason: string | undefined;
  notes: string[];
  intraOpThreads: number;
}

/** What the choice depends on, injectable so the order and the reasons can be tested without native packages. */
export interface RuntimeProbes {
  isInstalled(pkg: string): boolean;
  gpu(): { visible: boolean; reason?: string };
  load(name: TfjsRuntimeName): Promise<LoadedRuntime>;
  intraOpThreads(name: TfjsRuntimeName): number;
}

export const runtimePackages: Record<TfjsRuntimeName, string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
  'tfjs-wasm': '@tensorflow/tfjs-backend-wasm',
};

/**
 * libtensorflow 2.9 (what tfjs-node-gpu 4.x downloads) is built against CUDA 11 and cuDNN 8; when
 * TensorFlow registers a GPU these are mapped into the process.
 */
const TENSORFLOW_GPU_LIBRARIES = ['libcudart.so.11', 'libcudnn.so.8'];

const require = createRequire(import.meta.url);

/**
 * Picks the TensorFlow.js runtime for one worker thread and loads it. With `device: "cuda"`:
 * tfjs-node-gpu when it is installed and a GPU is visible, else tfjs-node, else the WebAssembly
 * backend, with the reason CUDA is not used (or a load error when `strict`). With `device: "cpu"`:
 * tfjs-node when installed, else WebAssembly. A runtime that is installed but fails to load (a
 * broken install, or a native binding that refuses a second worker thread) is skipped and noted.
 */
export async function chooseTfjsRuntime(spec: Pick<SessionSpec, 'device' | 'strict'>, probes: RuntimeProbes = nativeProbes): Promise<TfjsRuntimeChoice> {
  const wantsCuda = spec.device === 'cuda';
  const candidates: TfjsRuntimeName[] = wantsCuda ? ['tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm'] : ['tfjs-node', 'tfjs-wasm'];
  let cudaReason: string | undefined;
  const notes: string[] = [];
  const noCuda = (reason: string): never => {
    throw new Error(`CUDA unavailable for TensorFlow.js: ${reason} (device "cuda" with strict: true, so no CPU fallback)`);
  };

  for (const name of candidates) {
    const pkg = runtimePackages[name];
    if (name !== 'tfjs-wasm' && !probes.isInstalled(pkg)) {
      if (name === 'tfjs-node-gpu') cudaReason = `${pkg} is not installed`;
      continue;
    }
    if (name === 'tfjs-node-gpu') {
      const gpu = probes.gpu();
      if (!gpu.visible) {
        cudaReason = gpu.reason ?? 'no GPU is visible';
        continue;
      }
    } else if (wantsCuda && spec.strict) {
      noCuda(cudaReason ?? 'no CUDA runtime');
    }

    let loaded: LoadedRuntime;
    try {
      loaded = await probes.load(name);
    } catch (err) {
      const reason = `${pkg} failed to load: ${firstLine(err)}`;
      if (name === 'tfjs-node-gpu') cudaReason = reason;
      else if (name === 'tfjs-wasm') throw new Error(`no TensorFlow.js runtime could be loaded: ${[cudaReason, ...notes, reason].filter(Boolean).join('; ')}`);
      else notes.push(reason);
      continue;
    }

    let device: 'cpu' | 'cuda' = 'cpu';
    if (name === 'tfjs-node-gpu') {
      if (loaded.gpuInUse) device = 'cuda';
      else {
        // Loaded and initialised on the CPU: TensorFlow cannot be unloaded from this thread, so it stays.
        cudaReason = `${pkg} loaded but TensorFlow registered no GPU (it needs the CUDA 11 and cuDNN 8 libraries: libcudart.so.11.0, libcudnn.so.8)`;
        if (spec.strict) noCuda(cudaReason);
      }
    }
    return {
      name,
      tf: loaded.tf,
      device,
      fallbackReason: wantsCuda && device === 'cpu' ? `CUDA unavailable for TensorFlow.js: ${cudaReason}` : undefined,
      notes,
      intraOpThreads: probes.intraOpThreads(name),
    };
  }
  // Unreachable: the WebAssembly backend either loads or throws above.
  throw new Error('no TensorFlow.js runtime could be loaded');
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** The real probes: package resolution, the driver's view of GPUs, and dynamic imports. */
export const nativeProbes: RuntimeProbes = {
  isInstalled(pkg) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      return false;
    }
  },
  gpu: () => nvidiaGpuVisibility(),
  async load(name) {
    if (name === 'tfjs-wasm') return { tf: await loadWasm() };
    const tf = await loadNative(runtimePackages[name]);
    return name === 'tfjs-node-gpu' ? { tf, gpuInUse: mappedLibraries(TENSORFLOW_GPU_LIBRARIES).length === TENSORFLOW_GPU_LIBRARIES.length } : { tf };
  },
  intraOpThreads(name) {
    // WebAssembly runs single-threaded under Node; TensorFlow sizes its own pool from TF_NUM_INTRAOP_THREADS (default: every core).
    if (name === 'tfjs-wasm') return 1;
    const fromEnv = Number(process.env.TF_NUM_INTRAOP_THREADS);
    return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
  },
};

const moduleValue = <T>(mod: unknown): T => ((mod as { default?: T }).default ?? mod) as T;

/** tfjs-node(-gpu): TensorFlow's C library behind the `tensorflow` backend. */
async function loadNative(pkg: string): Promise<Tf> {
  // A variable specifier: these packages are optional and usually absent at build time.
  const specifier: string = pkg;
  const tf = moduleValue<Tf>(await import(specifier));
  tf.enableProdMode();
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} did not initialise its tensorflow backend`);
  await tf.ready();
  return tf;
}

/** @tensorflow/tfjs on the WebAssembly backend, its .wasm binaries read from the installed package. */
async function loadWasm(): Promise<Tf> {
  const tf = moduleValue<Tf>(await import('@tensorflow/tfjs'));
  const wasm = moduleValue<typeof TfWasm>(await import('@tensorflow/tfjs-backend-wasm'));
  tf.enableProdMode();
  wasm.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}${path.sep}`);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WebAssembly backend did not initialise');
  await tf.ready();
  return tf;
}
