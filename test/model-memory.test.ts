import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer, BatchOf, ModelDetailAnswer } from './helpers/answers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const classifier = linearClassifier({ classes: 3 });
const labels = ['red', 'green', 'blue'];
// Instances and threads fixed, so no calibration runs; a batch of one request's images forms at once.
const fixed = { instances: 2, intraOpThreads: 1 };
const batching = { maxBatchSize: 4, maxQueueDelayMs: 200, waitWhenIdle: true };
/** One 8×8 RGB float32 slot of the input tensor. */
const SLOT_BYTES = 8 * 8 * 3 * 4;

let server: Server;
beforeAll(async () => {
  const repo = makeModelRepo({
    cls: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, batching, ...fixed } },
    lean: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, batching, instances: 1, intraOpThreads: 1, memoryArena: false },
    },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const memoryOf = async (model: string) => {
  const detail = (await (await fetch(`${server.url}/v1/models/${model}`)).json()) as ModelDetailAnswer;
  expect(detail.error ?? detail.state).toBe('ready');
  return detail.memory!;
};

describe('GET /v1/models/{name} memory', () => {
  it('reports each instance, the load and the arena policy before any batch', async () => {
    const memory = await memoryOf('cls');
    expect(memory.fileBytes).toBe(classifier.bytes.length);
    expect(memory.largestBatch).toBeUndefined();
    expect(memory.arenaPolicy).toEqual({
      cpuMemArena: true,
      memPattern: false,
      reason: 'CPU arena on (the default); memory pattern off (batches of many sizes would each hold a planned block)',
    });
    expect(memory.instances).toHaveLength(2);
    expect(new Set(memory.instances.map((i) => i.threadId)).size).toBe(2);
    for (const instance of memory.instances) {
      expect(Number.isInteger(instance.loadRssBytes) && instance.loadRssBytes >= 0).toBe(true);
      // A worker isolate holds a few MiB of live objects (its modules) and, with its young
      // generation capped, reserves well under what V8 would let it grow to.
      expect(instance.heapUsedBytes).toBeGreaterThan(1 << 20);
      expect(instance.heapTotalBytes).toBeGreaterThanOrEqual(instance.heapUsedBytes);
      expect(instance.heapTotalBytes).toBeLessThan(64 << 20);
      expect(instance.externalBytes).toBeGreaterThanOrEqual(0);
    }
    expect(memory.rssBytesAtLoad).toBe(memory.instances.reduce((sum, i) => sum + i.loadRssBytes, 0));
  });

  it('follows the largest batch run, sized by its input tensor', async () => {
    const one = await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: await solidImage('png', 8, 8, [0, 0, 255]),
      headers: { 'content-type': 'image/png' },
    });
    expect(((await one.json()) as Answer<ClassifyAnswer>).label).toBe('blue');
    expect((await memoryOf('cls')).largestBatch).toEqual({ items: 1, inputBytes: SLOT_BYTES });

    const images = await Promise.all(
      [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
      ].map((rgb) => solidImage('png', 8, 8, rgb as [number, number, number])),
    );
    const res = await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: JSON.stringify({ images: images.map((b) => b.toString('base64')) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const batch = (await res.json()) as BatchOf<Answer<ClassifyAnswer>>;
    expect(batch.results.map((r) => r.label)).toEqual(['red', 'green', 'blue']);
    const largest = Math.max(...batch.results.map((r) => r.batchSize));
    expect((await memoryOf('cls')).largestBatch).toEqual({ items: largest, inputBytes: largest * SLOT_BYTES });

    // A smaller batch afterwards leaves the largest in place; the instances' heaps are sampled again.
    await fetch(`${server.url}/v1/models/cls/predict`, { method: 'POST', body: images[0], headers: { 'content-type': 'image/png' } });
    const after = await memoryOf('cls');
    expect(after.largestBatch).toEqual({ items: largest, inputBytes: largest * SLOT_BYTES });
    expect(after.instances).toHaveLength(2);
  });

  it('says when a manifest turns the CPU arena off, and answers the same', async () => {
    const memory = await memoryOf('lean');
    expect(memory.arenaPolicy?.cpuMemArena).toBe(false);
    expect(memory.arenaPolicy?.memPattern).toBe(false);
    expect(memory.arenaPolicy?.reason).toBe(
      'CPU arena off (memoryArena: false in the manifest); memory pattern off (batches of many sizes would each hold a planned block)',
    );
    expect(memory.instances).toHaveLength(1);
    const res = await fetch(`${server.url}/v1/models/lean/predict`, {
      method: 'POST',
      body: await solidImage('png', 8, 8, [0, 255, 0]),
      headers: { 'content-type': 'image/png' },
    });
    expect(((await res.json()) as Answer<ClassifyAnswer>).label).toBe('green');
  });
});
