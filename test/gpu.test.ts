import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nvidiaGpuVisibility } from '../dist/src/backends/gpu-visibility.js';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer, ModelDetailAnswer } from './helpers/answers.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

// These check what a CPU-only machine reports; where a GPU is visible, CUDA may really load.
const gpuVisible = nvidiaGpuVisibility().visible;

const classifier = linearClassifier({ classes: 3 });
const labels = ['red', 'green', 'blue'];
const cudaOptions = { arenaExtendStrategy: 'kSameAsRequested', gpuMemLimit: 2147483648, cudnnConvAlgoSearch: 'HEURISTIC' };
const manifest = { task: 'classify', input: plainInput, head: { labels } };

let repoDir: string;
let server: Server;

beforeAll(async () => {
  repoDir = makeModelRepo({
    cuda: { onnx: classifier.bytes, manifest: { ...manifest, device: 'cuda', deviceId: 1, cuda: cudaOptions } },
    cudaplain: { onnx: classifier.bytes, manifest: { ...manifest, device: 'cuda' } },
    cudastrict: { onnx: classifier.bytes, manifest: { ...manifest, device: 'cuda', strict: true } },
    cpu: { onnx: classifier.bytes, manifest },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const detail = async (model: string) => (await (await fetch(`${server.url}/v1/models/${model}`)).json()) as ModelDetailAnswer;

describe.skipIf(gpuVisible)('ONNX Runtime with device "cuda" on a machine without CUDA', () => {
  it('falls back to CPU, says why, and names the CUDA options the binding cannot apply', async () => {
    const d = await detail('cuda');
    expect(d.state).toBe('ready');
    expect(d.device).toEqual({
      requested: 'cuda',
      actual: 'cpu',
      runtime: 'onnxruntime-cpu',
      fallbackReason: expect.stringMatching(/^CUDA execution provider unavailable: \S/),
      notes: [
        'cuda.arenaExtendStrategy, cuda.gpuMemLimit, cuda.cudnnConvAlgoSearch not applied: onnxruntime-node passes only deviceId to the ' +
          'CUDA execution provider',
      ],
      intraOpThreads: expect.any(Number),
      instances: 1,
    });
    expect(d.spec?.deviceId).toBe(1);
    const res = await fetch(`${server.url}/v1/models/cuda/predict`, {
      method: 'POST',
      body: await solidImage('png', 8, 8, [0, 255, 0]),
      headers: { 'content-type': 'image/png' },
    });
    expect(((await res.json()) as Answer<ClassifyAnswer>).label).toBe('green');
  });

  it('reports no notes when no CUDA options are set, and a CPU model as onnxruntime-cpu', async () => {
    const plain = await detail('cudaplain');
    expect(plain.device?.runtime).toBe('onnxruntime-cpu');
    expect(plain.device?.notes).toBeUndefined();
    expect(plain.device?.fallbackReason).toBe((await detail('cuda')).device?.fallbackReason);
    expect((await detail('cpu')).device).toEqual({
      requested: 'cpu',
      actual: 'cpu',
      runtime: 'onnxruntime-cpu',
      intraOpThreads: expect.any(Number),
      instances: expect.any(Number),
    });
  });

  it('fails the load with strict: true', async () => {
    const strict = await detail('cudastrict');
    expect(strict.state).toBe('failed');
    expect(strict.error).toMatch(/^CUDA execution provider unavailable: .+ \(device "cuda" with strict: true, so no CPU fallback\)$/);
    expect(strict.device).toBeUndefined();
  });
});
