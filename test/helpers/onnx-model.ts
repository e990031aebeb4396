/**
 * Tiny ONNX models with exactly known outputs, for engine and head tests. Each factory returns the
 * model bytes plus the names and formulas a test needs to compute what ONNX Runtime must return.
 * All models use opset 13, a float32 NCHW input `[N, 3, H, W]` (N symbolic unless `batch` is given).
 */
import { OnnxGraph, type Dim, type ElemType } from './onnx-graph.js';

export {
  attr,
  OnnxGraph,
  rawData,
  type AttributeValue,
  type BuildOptions,
  type Dim,
  type ElemType,
  type TaggedAttribute,
  type TensorValue,
} from './onnx-graph.js';
export { decodeModel, encodeModel } from './onnx-proto.js';

export interface TestModel {
  bytes: Uint8Array;
  inputName: string;
  outputNames: string[];
  /** The declared input dims, e.g. ['N', 3, 8, 8]. */
  inputDims: Dim[];
}

export interface ModelInputOptions {
  /** [3, H, W]; H and W may be symbolic names for dynamic sizes. Default [3, 8, 8]. */
  inputShape?: readonly [3, Dim, Dim];
  /** Batch dim; default 'N' (dynamic). A number fixes the batch size. */
  batch?: Dim;
  inputName?: string;
}

const inputDimsOf = (o: ModelInputOptions): Dim[] => [o.batch ?? 'N', ...(o.inputShape ?? [3, 8, 8])];
const TO_FLOAT = 1; // TensorProto.FLOAT, the `to` of Cast
const TO_INT64 = 7; // TensorProto.INT64

/**
 * The graph every factory here starts from: one input and one output, named by the options or the
 * factory's defaults; `model()` is what every TestModel reports once the nodes are in.
 */
function oneInOneOut(
  graphName: string,
  options: ModelInputOptions & { outputName?: string },
  defaults: { output: string; input?: string },
  outputDims: (inputDims: Dim[]) => Dim[],
  inputType: ElemType = 'float32',
) {
  const inputName = options.inputName ?? defaults.input ?? 'input';
  const outputName = options.outputName ?? defaults.output;
  const dims = inputDimsOf(options);
  const g = new OnnxGraph(graphName);
  g.input(inputName, inputType, dims).output(outputName, 'float32', outputDims(dims));
  const model = (): TestModel => ({ bytes: g.build(), inputName, outputNames: [outputName], inputDims: dims });
  return { g, inputName, outputName, dims, model };
}

/* ------------------------------------------------------------------ classifier */

/** A model that mixes the three input channels linearly into one logit per class. */
export interface ChannelMixOptions extends ModelInputOptions {
  classes: number;
  /** Oriented as each model says. Default: class c reads channel c mod 3 with weight 1, the others 0. */
  weights?: readonly (readonly number[])[];
  /** bias[c]; default all 0. */
  bias?: readonly number[];
  outputName?: string;
}

interface ChannelMix extends TestModel {
  weights: number[][];
  bias: number[];
}

/** The weights (classes × 3 when `classRows`, else 3 × classes), bias and names of a channel mix, defaults filled in. */
function channelMix(options: ChannelMixOptions, classRows: boolean) {
  const { classes } = options;
  const rows = classRows ? classes : 3;
  const columns = classRows ? 3 : classes;
  const byDefault = (c: number, k: number) => (c % 3 === k ? 1 : 0);
  const weights =
    options.weights?.map((row) => [...row]) ??
    Array.from({ length: rows }, (_, r) => Array.from({ length: columns }, (_, col) => (classRows ? byDefault(r, col) : byDefault(col, r))));
  const bias = options.bias ? [...options.bias] : Array(classes).fill(0);
  if (weights.length !== rows || weights.some((row) => row.length !== columns)) throw new Error(`weights must be ${classRows ? 'classes × 3' : '3 × classes'}`);
  if (bias.length !== classes) throw new Error('bias must have one value per class');
  return { classes, weights, bias };
}

/** weights[k][c]: 3 rows (input channel k) × `classes` columns. */
export type LinearClassifierOptions = ChannelMixOptions;

export interface LinearClassifier extends ChannelMix {
  /** Expected logits for one image from its three channel means (computed in double precision). */
  logitsFor(channelMeans: readonly [number, number, number]): number[];
}

/**
 * logits[n][c] = Σ_k mean_k(n) · weights[k][c] + bias[c], where mean_k(n) is the mean of input[n, k, :, :].
 * Graph: ReduceMean(axes=[2,3], keepdims=0) → MatMul(weights [3,C]) → Add(bias [C]). Output `[N, C]` float32.
 */
export function linearClassifier(options: LinearClassifierOptions): LinearClassifier {
  const { classes, weights, bias } = channelMix(options, false);
  const { g, inputName, outputName, model } = oneInOneOut('linear_classifier', options, { output: 'logits' }, (dims) => [dims[0], classes]);
  g.initializer('weights', 'float32', [3, classes], weights.flat());
  g.initializer('bias', 'float32', [classes], bias);
  const means = g.op('ReduceMean', [inputName], { axes: [2, 3], keepdims: 0 });
  const product = g.op('MatMul', [means, 'weights']);
  g.node('Add', [product, 'bias'], [outputName]);

  return {
    ...model(),
    weights,
    bias,
    logitsFor: (m) => bias.map((b, c) => m[0] * weights[0][c] + m[1] * weights[1][c] + m[2] * weights[2][c] + b),
  };
}

/* ------------------------------------------------------------------ detector */

/** One candidate: centre, size (input pixels) and one score per class. */
export interface DetectorBox {
  cx: number;
  cy: number;
  w: number;
  h: number;
  scores: readonly number[];
}

/**
 * Default candidates for a 64×64 input, 2 classes. Meant to exercise confidence filtering and NMS:
 * 0 and 1 are class 0 and overlap with IoU 342/458 ≈ 0.747 (NMS at 0.5 keeps 0, drops 1);
 * 2 is class 1 and overlaps 0 with IoU 380/420 ≈ 0.905 (class-aware NMS keeps it, class-agnostic drops it);
 * 3 is class 1 and overlaps nothing; 4 scores below 0.25 in every class.
 */
export const DEFAULT_DETECTOR_BOXES: readonly DetectorBox[] = [
  { cx: 20, cy: 20, w: 20, h: 20, scores: [0.9, 0.05] },
  { cx: 22, cy: 21, w: 20, h: 20, scores: [0.8, 0.1] },
  { cx: 21, cy: 20, w: 20, h: 20, scores: [0.1, 0.7] },
  { cx: 48, cy: 48, w: 16, h: 12, scores: [0.05, 0.6] },
  { cx: 40, cy: 10, w: 8, h: 8, scores: [0.2, 0.1] },
];

export interface FixedDetectorOptions extends ModelInputOptions {
  /** Default `DEFAULT_DETECTOR_BOXES` (2 classes); inputShape defaults to [3, 64, 64]. */
  boxes?: readonly DetectorBox[];
  /**
   * `features-first`: output `[N, 4 + C, A]` (YOLOv8 export: row f holds feature f of every anchor);
   * `anchors-first`: output `[N, A, 4 + C]` (one row per candidate). Default features-first.
   */
  layout?: 'features-first' | 'anchors-first';
  outputName?: string;
}

export interface FixedDetector extends TestModel {
  boxes: DetectorBox[];
  classes: number;
  /** The exact output of one batch item, in the chosen layout (every item is the same). */
  expectedItem: Float32Array;
  outputDims: [Dim, number, number];
}

/**
 * Emits the same candidates for every image, whatever the pixels: a constant `[1, …]` expanded to the
 * batch size taken from `Shape(input)`. Candidate a's features are [cx, cy, w, h, score_0 … score_{C-1}].
 */
export function fixedDetector(options: FixedDetectorOptions = {}): FixedDetector {
  const boxes = (options.boxes ?? DEFAULT_DETECTOR_BOXES).map((b) => ({ ...b, scores: [...b.scores] }));
  const classes = boxes[0]?.scores.length ?? 0;
  if (boxes.length === 0 || boxes.some((b) => b.scores.length !== classes)) throw new Error('every box needs the same number of scores');
  const features = 4 + classes;
  const anchors = boxes.length;
  const layout = options.layout ?? 'features-first';
  const rows = boxes.map((b) => [b.cx, b.cy, b.w, b.h, ...b.scores]);
  const item = layout === 'anchors-first' ? rows.flat() : Array.from({ length: features }, (_, f) => rows.map((r) => r[f])).flat();
  const itemDims: [number, number] = layout === 'anchors-first' ? [anchors, features] : [features, anchors];
  const { g, inputName, outputName, dims, model } = oneInOneOut(
    'fixed_detector',
    { inputShape: [3, 64, 64], ...options },
    { input: 'images', output: 'output0' },
    (d) => [d[0], ...itemDims],
  );
  g.initializer('candidates', 'float32', [1, ...itemDims], item);
  const shape = g.op('Shape', [inputName]);
  const batch = g.op('Slice', [shape, g.constant('int64', [1], [0]), g.constant('int64', [1], [1]), g.constant('int64', [1], [0])]);
  const target = g.op('Concat', [batch, g.constant('int64', [2], itemDims)], { axis: 0 });
  g.node('Expand', ['candidates', target], [outputName]);

  return {
    ...model(),
    boxes,
    classes,
    expectedItem: Float32Array.from(item),
    outputDims: [dims[0], ...itemDims],
  };
}

/* ------------------------------------------------------------------ failing model */

export interface FailingModelOptions extends ModelInputOptions {
  /** The input value that makes a run fail. Default 255 (a white pixel with no normalisation). */
  magic?: number;
  /** |x − magic| < tolerance counts as magic (absorbs float32 rounding of normalisation). Default 1e-3. */
  tolerance?: number;
  outputName?: string;
  /** Also make a run slow (a side × side MatMul, as stallingModel) when `magic` is present; off by default. */
  stall?: { magic: number; side: number };
}

export interface FailingModel extends TestModel {
  magic: number;
  tolerance: number;
}

/**
 * output = input (same shape) unless any element of the batch is within `tolerance` of `magic`; then the
 * run fails in ONNX Runtime with a Gather index out of range. So one poisoned image fails its whole batch.
 * Graph: any = ReduceMax(Cast(Less(Abs(x − magic), tol))); idx = Cast(any · 1000, int64);
 *        output = x · Gather([1.0], [idx]).
 */
export function failingModel(options: FailingModelOptions = {}): FailingModel {
  const magic = options.magic ?? 255;
  const tolerance = options.tolerance ?? 1e-3;
  const { g, inputName, outputName, model } = oneInOneOut('failing_model', options, { output: 'output' }, (dims) => dims);
  const distance = g.op('Abs', [g.op('Sub', [inputName, g.constant('float32', [], [magic], 'magic')])]);
  const hit = g.op('Cast', [g.op('Less', [distance, g.constant('float32', [], [tolerance], 'tolerance')])], { to: TO_FLOAT });
  const any = g.op('ReduceMax', [hit], { keepdims: 0 });
  const index = g.op('Cast', [g.op('Mul', [any, g.constant('float32', [], [1000])])], { to: TO_INT64 });
  const indices = g.op('Reshape', [index, g.constant('int64', [1], [1])]);
  const one = g.op('Gather', [g.constant('float32', [1], [1], 'one'), indices], { axis: 0 });
  if (!options.stall) {
    g.node('Mul', [inputName, one], [outputName]);
  } else {
    const product = g.op('Mul', [inputName, one]);
    g.node('Add', [product, stallTerm(g, inputName, options.stall.magic, options.stall.side, tolerance)], [outputName]);
  }

  return { ...model(), magic, tolerance };
}

export interface StallingModelOptions extends ModelInputOptions {
  /** The input value that makes a run slow. Default 255. */
  magic?: number;
  /** Side of the square matrix multiplied by itself when the magic value is present. Default 4000 (seconds of CPU). */
  side?: number;
  outputName?: string;
}

/**
 * output = input, but a batch holding `magic` anywhere first multiplies a side × side matrix of
 * ones by itself (≈ 2·side³ flops inside one ONNX Runtime run), then discards the product: a run
 * that takes seconds for one input and microseconds for the others. Without the magic value the
 * matrix is 1 × 1.
 * Graph: k = Cast(any · (side − 1) + 1, int64); m = Expand(1.0, [k, k]);
 *        output = x + ReduceSum(MatMul(m, m)) · 0.
 */
export function stallingModel(options: StallingModelOptions = {}): FailingModel & { side: number } {
  const magic = options.magic ?? 255;
  const side = options.side ?? 4000;
  const tolerance = 1e-3;
  const { g, inputName, outputName, model } = oneInOneOut('stalling_model', options, { output: 'output' }, (dims) => dims);
  g.node('Add', [inputName, stallTerm(g, inputName, magic, side, tolerance)], [outputName]);

  return { ...model(), magic, tolerance, side };
}

/** A scalar 0 that costs a side × side MatMul when `magic` is in the input, and a 1 × 1 one otherwise. */
function stallTerm(g: OnnxGraph, inputName: string, magic: number, side: number, tolerance: number): string {
  const distance = g.op('Abs', [g.op('Sub', [inputName, g.constant('float32', [], [magic], 'stall_magic')])]);
  const hit = g.op('Cast', [g.op('Less', [distance, g.constant('float32', [], [tolerance], 'tolerance')])], { to: TO_FLOAT });
  const any = g.op('ReduceMax', [hit], { keepdims: 0 });
  const k = g.op('Cast', [g.op('Add', [g.op('Mul', [any, g.constant('float32', [], [side - 1])]), g.constant('float32', [], [1])])], { to: TO_INT64 });
  const shape = g.op('Concat', [g.op('Reshape', [k, g.constant('int64', [1], [1])]), g.op('Reshape', [k, g.constant('int64', [1], [1])])], { axis: 0 });
  const m = g.op('Expand', [g.constant('float32', [], [1], 'one'), shape]);
  const total = g.op('ReduceSum', [g.op('MatMul', [m, m])], { keepdims: 0 });
  return g.op('Mul', [total, g.constant('float32', [], [0], 'zero')]);
}

/* ------------------------------------------------------------------ raw / identity */

export interface RawModelOptions extends ModelInputOptions {
  /** output = input · factor + offset. Defaults 2 and 0. */
  factor?: number;
  offset?: number;
  /** Input element type; uint8 input is cast to float32 first. Output is always float32. Default float32. */
  inputType?: Extract<ElemType, 'float32' | 'uint8'>;
  outputName?: string;
}

export interface RawModel extends TestModel {
  factor: number;
  offset: number;
}

/** output[i] = float32(input[i]) · factor + offset, same shape as the input. */
export function rawModel(options: RawModelOptions = {}): RawModel {
  const factor = options.factor ?? 2;
  const offset = options.offset ?? 0;
  const { g, inputName, outputName, model } = oneInOneOut('raw_model', options, { output: 'output' }, (dims) => dims, options.inputType);
  const x = options.inputType === 'uint8' ? g.op('Cast', [inputName], { to: TO_FLOAT }) : inputName;
  const scaled = g.op('Mul', [x, g.constant('float32', [], [factor], 'factor')]);
  g.node('Add', [scaled, g.constant('float32', [], [offset], 'offset')], [outputName]);
  return { ...model(), factor, offset };
}

/** output = input, via Identity. */
export function identityModel(options: ModelInputOptions & { outputName?: string } = {}): TestModel {
  const { g, inputName, outputName, model } = oneInOneOut('identity_model', options, { output: 'output' }, (dims) => dims);
  g.node('Identity', [inputName], [outputName]);
  return model();
}

/* ------------------------------------------------------------------ segmentation */

/** weights[c][k]: `classes` rows × 3 input channels. */
export type SegmentationLogitsOptions = ChannelMixOptions;

export interface SegmentationLogits extends ChannelMix {
  /** Expected logits at one pixel from its three input values. */
  logitsAt(pixel: readonly [number, number, number]): number[];
}

/**
 * A 1×1 convolution: logits[n, c, y, x] = Σ_k weights[c][k] · input[n, k, y, x] + bias[c].
 * Output `[N, C, H, W]` float32, same H and W as the input.
 */
export function segmentationLogits(options: SegmentationLogitsOptions): SegmentationLogits {
  const { classes, weights, bias } = channelMix(options, true);
  const outputDims = (dims: Dim[]) => [dims[0], classes, dims[2], dims[3]];
  const { g, inputName, outputName, model } = oneInOneOut('segmentation_logits', options, { output: 'logits' }, outputDims);
  g.initializer('conv_weight', 'float32', [classes, 3, 1, 1], weights.flat());
  g.initializer('conv_bias', 'float32', [classes], bias);
  g.node('Conv', [inputName, 'conv_weight', 'conv_bias'], [outputName], { kernel_shape: [1, 1] });
  return {
    ...model(),
    weights,
    bias,
    logitsAt: (p) => weights.map((w, c) => w[0] * p[0] + w[1] * p[1] + w[2] * p[2] + bias[c]!),
  };
}

export interface SegmentationProbabilityOptions extends ModelInputOptions {
  /** `step`: 1 where input[n, 0, y, x] > threshold, else 0. `sigmoid`: 1 / (1 + e^−(input[n,0,y,x] − threshold)). Default step. */
  kind?: 'step' | 'sigmoid';
  /** Default 0.5. */
  threshold?: number;
  outputName?: string;
}

export interface SegmentationProbability extends TestModel {
  kind: 'step' | 'sigmoid';
  threshold: number;
  /** Expected probability for a first-channel input value. */
  probabilityOf(value: number): number;
}

/**
 * A probability map from the input's first channel (like a text detector's `[N, 1, H, W]` output):
 * step → Cast(Greater(x0, threshold)); sigmoid → Sigmoid(x0 − threshold).
 */
export function segmentationProbability(options: SegmentationProbabilityOptions = {}): SegmentationProbability {
  const kind = options.kind ?? 'step';
  const threshold = options.threshold ?? 0.5;
  const outputDims = (dims: Dim[]) => [dims[0], 1, dims[2], dims[3]];
  const { g, inputName, outputName, model } = oneInOneOut('segmentation_probability', options, { output: 'probabilities' }, outputDims);
  const first = g.op('Slice', [inputName, g.constant('int64', [1], [0]), g.constant('int64', [1], [1]), g.constant('int64', [1], [1])]);
  const t = g.constant('float32', [], [threshold], 'threshold');
  if (kind === 'step') g.node('Cast', [g.op('Greater', [first, t])], [outputName], { to: TO_FLOAT });
  else g.node('Sigmoid', [g.op('Sub', [first, t])], [outputName]);
  return {
    ...model(),
    kind,
    threshold,
    probabilityOf: (v) => (kind === 'step' ? (v > threshold ? 1 : 0) : 1 / (1 + Math.exp(-(v - threshold)))),
  };
}
