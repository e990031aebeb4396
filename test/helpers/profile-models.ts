/**
 * Tiny ONNX models with known weights standing in for each service's model, as model-repository
 * entries, with the answers they must give.
 */
import { plainInput } from './model-repo.js';
import { linearClassifier } from './onnx-model.js';

type Entry = { manifest: Record<string, unknown>; onnx?: Uint8Array };

/**
 * The fracture classifier: logits [0, ln 19 · green], so a pure green image is POSITIVE at exactly
 * 0.95 (the seed's example) and a pure red one NEGATIVE at 0.5 (a tie, broken by label order).
 */
export const fractureModel = (): Entry => ({
  onnx: linearClassifier({ classes: 2, weights: [[0, 0], [0, Math.log(19)], [0, 0]] }).bytes,
  manifest: { task: 'classify', description: 'EfficientNet-B7 binary classifier (test stand-in)', input: plainInput, head: { labels: ['NEGATIVE', 'POSITIVE'], softmax: true } },
});
