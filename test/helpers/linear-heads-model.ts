/**
 * A tiny multi-output ONNX model with known weights: several linear heads over the three channel
 * means of one input, all from one run, e.g. box regression and severity logits of an assessment model.
 */
import { OnnxGraph, type Dim, type ModelInputOptions, type TestModel } from './onnx-model.js';

export interface LinearHeadSpec {
  /** Output name. */
  name: string;
  /** weights[k][f]: 3 rows (input channel k) × F features; F = the product of `itemDims`. */
  weights: readonly (readonly number[])[];
  /** bias[f]; default all 0. */
  bias?: readonly number[];
  /** Dims of one batch item, e.g. [4] (one box) or [2, 4] (two boxes). Default [F]. */
  itemDims?: readonly number[];
}

export interface LinearHeads extends TestModel {
  /** Expected output values of one image (flat, item dims in row-major order), from its three channel means, in double precision. */
  outputFor(name: string, channelMeans: readonly [number, number, number]): number[];
  /** The declared dims of each output, batch first. */
  outputDims: Record<string, Dim[]>;
}

/**
 * out[n] = Reshape(mean(input[n]) · weights + bias, itemDims) for each head, where mean(input[n]) is the
 * per-channel mean `[N, 3]`. Graph: ReduceMean(axes=[2,3], keepdims=0) → per head MatMul → Add (→ Reshape).
 * With dyadic weights and channel means of ±1 (e.g. pure colours under mean 0.5, std 0.5) every value is exact in float32.
 */
export function linearHeads(heads: readonly LinearHeadSpec[], options: ModelInputOptions = {}): LinearHeads {
  const inputName = options.inputName ?? 'input';
  const dims: Dim[] = [options.batch ?? 'N', ...(options.inputShape ?? [3, 8, 8])];
  const g = new OnnxGraph('linear_heads');
  g.input(inputName, 'float32', dims);
  const means = g.op('ReduceMean', [inputName], { axes: [2, 3], keepdims: 0 });
  const outputDims: Record<string, Dim[]> = {};
  const specs = new Map<string, { weights: number[][]; bias: number[] }>();
  for (const head of heads) {
    const features = head.weights[0]?.length ?? 0;
    const itemDims = head.itemDims ?? [features];
    if (head.weights.length !== 3 || head.weights.some((row) => row.length !== features)) throw new Error(`${head.name}: weights must be 3 × F`);
    if (itemDims.reduce((a, b) => a * b, 1) !== features) throw new Error(`${head.name}: itemDims must hold F = ${features} values`);
    const bias = head.bias ? [...head.bias] : Array<number>(features).fill(0);
    if (bias.length !== features) throw new Error(`${head.name}: bias must have F values`);
    g.initializer(`${head.name}_weights`, 'float32', [3, features], head.weights.flat());
    g.initializer(`${head.name}_bias`, 'float32', [features], bias);
    const linear = g.op('Add', [g.op('MatMul', [means, `${head.name}_weights`]), `${head.name}_bias`]);
    // Reshape's 0 keeps the batch dim as it is.
    if (itemDims.length === 1) g.node('Identity', [linear], [head.name]);
    else g.node('Reshape', [linear, g.constant('int64', [itemDims.length + 1], [0, ...itemDims])], [head.name]);
    outputDims[head.name] = [dims[0], ...itemDims];
    g.output(head.name, 'float32', outputDims[head.name]);
    specs.set(head.name, { weights: head.weights.map((row) => [...row]), bias });
  }
  return {
    bytes: g.build(),
    inputName,
    outputNames: heads.map((h) => h.name),
    inputDims: dims,
    outputDims,
    outputFor(name, m) {
      const spec = specs.get(name);
      if (!spec) throw new Error(`no head ${name}`);
      return spec.bias.map((b, f) => m[0] * spec.weights[0][f] + m[1] * spec.weights[1][f] + m[2] * spec.weights[2][f] + b);
    },
  };
}
