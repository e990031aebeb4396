import { describe, expect, it } from 'vitest';
import { chooseTfjsRuntime, type RuntimeProbes, type TfjsRuntimeName } from '../dist/src/backends/tfjs-runtime.js';
import { nvidiaGpuVisibility } from '../dist/src/backends/gpu-visibility.js';

/** A machine described by what is installed, whether a GPU shows, and how each runtime's load goes. */
function machine(options: {
  installed: string[];
  gpu?: boolean;
  fails?: Partial<Record<TfjsRuntimeName, string>>;
  gpuRegistered?: boolean;
}): RuntimeProbes & { loaded: TfjsRuntimeName[] } {
  const loaded: TfjsRuntimeName[] = [];
  return {
    loaded,
    isInstalled: (pkg) => options.installed.includes(pkg),
    gpu: () => (options.gpu ? { visible: true } : { visible: false, reason: 'no NVIDIA GPU is visible' }),
    async load(name) {
      loaded.push(name);
      const failure = options.fails?.[name];
      if (failure) throw new Error(failure);
      return { tf: { runtime: name } as never, ...(name === 'tfjs-node-gpu' ? { gpuInUse: options.gpuRegistered ?? true } : {}) };
    },
    intraOpThreads: (name) => (name === 'tfjs-wasm' ? 1 : 16),
  };
}

const NODE = '@tensorflow/tfjs-node';
const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const pick = ({ name, device, fallbackReason, notes, intraOpThreads }: Awaited<ReturnType<typeof chooseTfjsRuntime>>) => ({
  name,
  device,
  fallbackReason,
  notes,
  intraOpThreads,
});
const cuda = { device: 'cuda' as const, strict: false };
const cpu = { device: 'cpu' as const, strict: false };

describe('TensorFlow.js runtime choice', () => {
  it('uses tfjs-node-gpu on CUDA when it is installed and a GPU is visible', async () => {
    const m = machine({ installed: [NODE_GPU, NODE], gpu: true });
    expect(pick(await chooseTfjsRuntime(cuda, m))).toEqual({ name: 'tfjs-node-gpu', device: 'cuda', fallbackReason: undefined, notes: [], intraOpThreads: 16 });
    expect(m.loaded).toEqual(['tfjs-node-gpu']);
  });

  it('falls back to tfjs-node, then WebAssembly, saying why CUDA is not used', async () => {
    expect(pick(await chooseTfjsRuntime(cuda, machine({ installed: [NODE_GPU, NODE], gpu: false })))).toEqual({
      name: 'tfjs-node',
      device: 'cpu',
      fallbackReason: 'CUDA unavailable for TensorFlow.js: no NVIDIA GPU is visible',
      notes: [],
      intraOpThreads: 16,
    });
    expect(pick(await chooseTfjsRuntime(cuda, machine({ installed: [] })))).toEqual({
      name: 'tfjs-wasm',
      device: 'cpu',
      fallbackReason: `CUDA unavailable for TensorFlow.js: ${NODE_GPU} is not installed`,
      notes: [],
      intraOpThreads: 1,
    });
    const broken = machine({
      installed: [NODE_GPU, NODE],
      gpu: true,
      fails: { 'tfjs-node-gpu': 'libcuda.so.1: cannot open shared object file\nmore', 'tfjs-node': 'Module did not self-register' },
    });
    expect(pick(await chooseTfjsRuntime(cuda, broken))).toEqual({
      name: 'tfjs-wasm',
      device: 'cpu',
      fallbackReason: `CUDA unavailable for TensorFlow.js: ${NODE_GPU} failed to load: libcuda.so.1: cannot open shared object file`,
      notes: [`${NODE} failed to load: Module did not self-register`],
      intraOpThreads: 1,
    });
    expect(broken.loaded).toEqual(['tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm']);
  });

  it('reports tfjs-node-gpu on the CPU when TensorFlow registered no GPU', async () => {
    const m = machine({ installed: [NODE_GPU], gpu: true, gpuRegistered: false });
    const choice = pick(await chooseTfjsRuntime(cuda, m));
    expect(choice.name).toBe('tfjs-node-gpu');
    expect(choice.device).toBe('cpu');
    expect(choice.fallbackReason).toBe(
      `CUDA unavailable for TensorFlow.js: ${NODE_GPU} loaded but TensorFlow registered no GPU (it needs the CUDA 11 and cuDNN 8 libraries: ` +
        `libcudart.so.11.0, libcudnn.so.8)`,
    );
    await expect(chooseTfjsRuntime({ device: 'cuda', strict: true }, machine({ installed: [NODE_GPU], gpu: true, gpuRegistered: false }))).rejects.toThrow(
      /registered no GPU.*strict: true, so no CPU fallback/,
    );
  });

  it('with strict, refuses to load a CPU runtime for a CUDA model', async () => {
    const m = machine({ installed: [NODE], gpu: false });
    await expect(chooseTfjsRuntime({ device: 'cuda', strict: true }, m)).rejects.toThrow(
      `CUDA unavailable for TensorFlow.js: ${NODE_GPU} is not installed (device "cuda" with strict: true, so no CPU fallback)`,
    );
    expect(m.loaded).toEqual([]);
  });

  it('never loads tfjs-node-gpu for a CPU model', async () => {
    const m = machine({ installed: [NODE_GPU], gpu: true });
    expect(pick(await chooseTfjsRuntime(cpu, m))).toEqual({ name: 'tfjs-wasm', device: 'cpu', fallbackReason: undefined, notes: [], intraOpThreads: 1 });
    expect(m.loaded).toEqual(['tfjs-wasm']);
    expect(pick(await chooseTfjsRuntime(cpu, machine({ installed: [NODE] }))).name).toBe('tfjs-node');
  });

  it('fails when not even WebAssembly loads, with every reason', async () => {
    await expect(chooseTfjsRuntime(cpu, machine({ installed: [NODE], fails: { 'tfjs-node': 'broken', 'tfjs-wasm': 'no wasm' } }))).rejects.toThrow(
      `no TensorFlow.js runtime could be loaded: ${NODE} failed to load: broken; @tensorflow/tfjs-backend-wasm failed to load: no wasm`,
    );
  });
});

describe('GPU visibility', () => {
  it('treats an empty or -1 CUDA_VISIBLE_DEVICES as no GPU', () => {
    expect(nvidiaGpuVisibility({ CUDA_VISIBLE_DEVICES: '-1' })).toEqual({ visible: false, reason: 'CUDA_VISIBLE_DEVICES="-1" hides every GPU' });
    expect(nvidiaGpuVisibility({ CUDA_VISIBLE_DEVICES: '' })).toEqual({ visible: false, reason: 'CUDA_VISIBLE_DEVICES="" hides every GPU' });
  });
});
