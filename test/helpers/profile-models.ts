/**
 * Tiny ONNX models with known weights standing in for each service's model, as model-repository
 * entries, with the answers they must give.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { plainInput } from './model-repo.js';
import { repoRoot } from './server.js';
import { linearHeads } from './linear-heads-model.js';
import { failingModel, linearClassifier } from './onnx-model.js';

type Entry = { manifest: Record<string, unknown>; onnx?: Uint8Array };

/**
 * The fracture classifier: logits [0, ln 19 · green], so a pure green image is POSITIVE at exactly
 * 0.95 (the seed's example) and a pure red one NEGATIVE at 0.5 (a tie, broken by label order).
 */
export const fractureModel = (): Entry => ({
  onnx: linearClassifier({
    classes: 2,
    weights: [
      [0, 0],
      [0, Math.log(19)],
      [0, 0],
    ],
  }).bytes,
  manifest: {
    task: 'classify',
    description: 'EfficientNet-B7 binary classifier (test stand-in)',
    input: plainInput,
    head: { labels: ['NEGATIVE', 'POSITIVE'], softmax: true },
  },
});

/**
 * The car segmentation model: its logits are the pixel's own channels (red, green, blue) over a 16×16
 * input, so black and red are background, green is the car body and blue a wheel. A channel at 255
 * makes the run fail; a grey (128) one makes it take seconds, so a test can watch it processing.
 */
export const carSegmentationModel = (): Entry => ({
  onnx: failingModel({ magic: 1, inputShape: [3, 16, 16], stall: { magic: 128 / 255, side: 1400 } }).bytes,
  manifest: {
    task: 'segment',
    input: { resize: 'stretch', width: 16, height: 16, colorOrder: 'RGB' },
    head: { labels: ['background', 'body', 'wheel'], mode: 'argmax' },
    instances: 1,
    batching: { maxBatchSize: 1 },
  },
});

/**
 * The image analysis model: a skin-type classifier and a multi-label issue head over one run.
 * A pure red image is Oily at exactly 0.87 (the seed's example) with the one issue Hyperpigmentation;
 * a pure blue one is Normal (every logit 0: a tie, broken by label order) with Acne and Wrinkles.
 */
export const SKIN_TYPES = ['Normal', 'Oily', 'Dry', 'Combination'];
export const SKIN_ISSUES = ['Acne', 'Hyperpigmentation', 'Wrinkles'];
export const imageAnalysisModel = (): Entry => ({
  onnx: linearHeads([
    // softmax([0, a, 0, 0]) puts e^a / (e^a + 3) = 0.87 on Oily when e^a = 0.87 · 3 / 0.13.
    {
      name: 'skin_logits',
      weights: [
        [0, Math.log((0.87 * 3) / 0.13), 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
    },
    {
      name: 'issue_logits',
      weights: [
        [-2, 2, -2],
        [0, 0, 0],
        [3, -3, 1],
      ],
    },
  ]).bytes,
  manifest: {
    task: 'multi',
    input: plainInput,
    heads: {
      skin_type: { task: 'classify', output: 'skin_logits', labels: SKIN_TYPES, softmax: true },
      issues: { task: 'multilabel', output: 'issue_logits', labels: SKIN_ISSUES, threshold: 0.5 },
    },
  },
});

/**
 * The damage assessment model: the repository's example manifest (box head, severity head, repair
 * cost rules) over a linear two-head model. Under its normalisation a pure colour has channel means
 * of ±1; red gives the box [0.125, 0.0625, 0.875, 0.875] (fractions of the input) and severity
 * logits [0, 0, 2] (severe), green [0.375, 0.3125, 0.625, 0.625] and [0, 1, 0] (moderate).
 */
export const damageAssessmentModel = (): Entry => ({
  onnx: linearHeads(
    [
      {
        name: 'boxes',
        weights: [
          [-0.125, -0.125, 0.125, 0.125],
          [0, 0, 0, 0],
          [0, 0.0625, 0, 0],
        ],
        bias: [0.25, 0.25, 0.75, 0.75],
      },
      {
        name: 'severity_logits',
        weights: [
          [0, 0.5, 1],
          [0, 1, 0],
          [1, 0.5, 0],
        ],
        bias: [1, 1, 1],
      },
    ],
    { inputShape: [3, 224, 224] },
  ).bytes,
  manifest: JSON.parse(readFileSync(path.join(repoRoot, 'models', 'examples', 'damage-assessment', 'model.json'), 'utf8')) as Record<string, unknown>,
});
