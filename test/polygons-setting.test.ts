import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { encode, fromRaw, rgbPixels } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { segmentationLogits } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

const indexUrl = new URL('../dist/src/polygons/index.js', import.meta.url).href;

/** What a worker thread started now would trace polygons with (the pool's workers start the same way). */
async function workerImplementation(): Promise<string> {
  const code = `import(${JSON.stringify(indexUrl)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.polygonImplementation()));`;
  const worker = new Worker(code, { eval: true });
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe('the polygons setting', () => {
  it('reaches the worker threads, and both implementations give the same answer', async () => {
    // A pixel is red when its red channel is above 0.5 (see segment.test.ts).
    const logits = segmentationLogits({
      classes: 2,
      weights: [
        [0, 0, 0],
        [1, 0, 0],
      ],
      bias: [0.5, 0],
      inputShape: [3, 32, 32],
    });
    const repo = makeModelRepo({
      parts: {
        onnx: logits.bytes,
        manifest: { task: 'segment', input: { resize: 'stretch', width: 32, height: 32, colorOrder: 'RGB' }, head: { labels: ['background', 'red'] } },
      },
    });
    const image = await encode(
      fromRaw(
        rgbPixels(32, 32, (x, y) => (x >= 4 && x < 20 && y >= 8 && y < 28 ? [255, 0, 0] : [0, 0, 0])),
        32,
        32,
      ),
      'png',
    );
    const answers: unknown[] = [];
    for (const choice of ['typescript', 'native']) {
      const server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_POLYGONS: choice });
      try {
        await server.modelsLoaded;
        expect(await workerImplementation()).toBe(choice);
        const res = await fetch(`${server.url}/v1/models/parts/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
        expect(res.status).toBe(200);
        answers.push(((await res.json()) as { polygons: unknown }).polygons);
      } finally {
        await server.close();
      }
    }
    // The outline runs through the centres of the boundary pixels: the 16×20 square inset by half a pixel.
    const square = [
      [4.5, 8.5],
      [4.5, 27.5],
      [19.5, 27.5],
      [19.5, 8.5],
    ];
    expect(answers[0]).toEqual([{ label: 'red', points: square, holes: [], area: 15 * 19, bbox: [4.5, 8.5, 19.5, 27.5] }]);
    expect(answers[1]).toEqual(answers[0]);
  });
});
