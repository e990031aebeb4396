/**
 * Tiny TensorFlow.js models with exactly known outputs, written to disk as `model.json` plus
 * `weights.bin` (the layout `tf.io` saves), for the tfjs backend tests.
 *
 * - `meanDenseLayers`: a layers model, input `image [N, 8, 8, 3]` → global average pool →
 *   dense(kernel, bias), output `logits`. A solid colour c gives logits `(c / 255) · kernel + bias`.
 * - `meanScaleGraph`: a graph model written by hand, `image [N, 8, 8, 3]` → Mean over H, W → Mul by
 *   `scale`, output node `scores`. A solid colour c gives `(c / 255) ⊙ scale`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

// The test process runs TensorFlow.js on its plain JS backend; its "install tfjs-node" hint is noise here.
tf.enableProdMode();

export async function meanDenseLayers(dir: string, kernel: number[][], bias: number[]): Promise<string> {
  const units = bias.length;
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: [8, 8, 3], name: 'image' }));
  model.add(tf.layers.globalAveragePooling2d({ dataFormat: 'channelsLast', name: 'pool' }));
  model.add(tf.layers.dense({ units, useBias: true, name: 'logits' }));
  model.getLayer('logits').setWeights([tf.tensor2d(kernel, [3, units]), tf.tensor1d(bias)]);
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = Buffer.concat(([] as ArrayBuffer[]).concat(artifacts.weightData ?? []).map((b) => Buffer.from(b)));
      writeFileSync(path.join(dir, 'weights.bin'), weights);
      const json = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return path.join(dir, 'model.json');
}

const dim = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });

export function meanScaleGraph(dir: string, scale: [number, number, number]): string {
  const modelTopology = {
    node: [
      { name: 'image', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim(-1, 8, 8, 3) } } },
      { name: 'axes', op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: dim(2) } }, dtype: { type: 'DT_INT32' } } },
      { name: 'mean', op: 'Mean', input: ['image', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } } },
      { name: 'scale', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim(3) } }, dtype: { type: 'DT_FLOAT' } } },
      { name: 'scores', op: 'Mul', input: ['mean', 'scale'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    library: {},
    versions: { producer: 1 },
  };
  const weights = [
    { name: 'axes', shape: [2], dtype: 'int32' },
    { name: 'scale', shape: [3], dtype: 'float32' },
  ];
  mkdirSync(dir, { recursive: true });
  const bytes = Buffer.concat([Buffer.from(new Int32Array([1, 2]).buffer), Buffer.from(new Float32Array(scale).buffer)]);
  writeFileSync(path.join(dir, 'weights.bin'), bytes);
  writeFileSync(
    path.join(dir, 'model.json'),
    JSON.stringify({ format: 'graph-model', generatedBy: 'test', convertedBy: 'test', modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights }] }),
  );
  return path.join(dir, 'model.json');
}
