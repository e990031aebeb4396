import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { infer } from './helpers/kserve-client.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { serveModelRepo } from './helpers/server.js';
import { meanScaleGraph } from './helpers/tfjs-model.js';

const suite = serveModelRepo(
  () => {
    const repo = makeModelRepo({
      graph: { manifest: { task: 'raw', backend: 'tfjs', file: 'tfjs/model.json', input: { ...plainInput, layout: 'NHWC' }, tfjs: { format: 'graph' } } },
    });
    // scores = mean over H and W of image [N, 8, 8, 3], times [1, 2, 4].
    meanScaleGraph(path.join(repo, 'graph', 'tfjs'), [1, 2, 4]);
    return repo;
  },
  { SIGHTLINE_CALIBRATE: 'false' },
);

describe('tensors on a TensorFlow.js model', () => {
  it('describes its input from the manifest and runs tensors in that layout, a batch of 2 split and joined', async () => {
    const meta = (await (await fetch(`${suite.url}/v2/models/graph`)).json()) as { platform: string; inputs: unknown[] };
    expect(meta.platform).toBe('tensorflowjs_graphdef');
    expect(meta.inputs).toEqual([{ name: 'image', datatype: 'FP32', shape: [-1, 8, 8, 3] }]);
    // Image 0: every pixel (0.5, 0.25, 1); image 1: (1, 0, 0.5).
    const data = new Float32Array(2 * 64 * 3);
    for (let p = 0; p < 64; p++) {
      data.set([0.5, 0.25, 1], p * 3);
      data.set([1, 0, 0.5], 192 + p * 3);
    }
    const answer = await infer(suite.url, 'graph', [{ name: 'image', datatype: 'FP32', shape: [2, 8, 8, 3], data }], { binary: true, binaryOutputs: true });
    expect(answer.status).toBe(200);
    expect(answer.outputs.scores).toMatchObject({ datatype: 'FP32', shape: [2, 3] });
    expect(answer.outputs.scores.values).toEqual([0.5, 0.5, 4, 1, 0, 2]);
    const wrong = await infer(suite.url, 'graph', [{ name: 'image', datatype: 'FP64', shape: [1, 8, 8, 3], data: new Float64Array(192) }], { binary: true });
    expect(wrong).toMatchObject({ status: 400, json: { error: "inference input 'image' data-type is 'FP64', but model 'graph' expects 'FP32'" } });
  });
});
