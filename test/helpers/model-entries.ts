import { plainInput } from './model-repo.js';
import { fixedDetector, linearClassifier, rawModel, segmentationLogits, type SegmentationLogits } from './onnx-model.js';

/** One entry of `makeModelRepo`. */
export interface ModelEntry {
  manifest: Record<string, unknown>;
  onnx: Uint8Array;
}

export const rgbLabels = ['red', 'green', 'blue'];

/**
 * Three classes at each pixel (input pixel / 255): background 0.5, red R, green G. A pixel is red or
 * green when that channel is above 0.5, otherwise background (ties go to background).
 */
export function redGreenLogits(side: number): SegmentationLogits {
  return segmentationLogits({
    classes: 3,
    weights: [
      [0, 0, 0],
      [1, 0, 0],
      [0, 1, 0],
    ],
    bias: [0.5, 0, 0],
    inputShape: [3, side, side],
  });
}

/** A 3-class linear classifier over `plainInput`, labelled red, green, blue; `batching` as given. */
export function rgbClassifierEntry(options: { softmax?: boolean; batching?: Record<string, unknown> } = {}): ModelEntry {
  const head = options.softmax === undefined ? { labels: rgbLabels } : { labels: rgbLabels, softmax: options.softmax };
  const manifest = { task: 'classify', input: plainInput, head, ...(options.batching ? { batching: options.batching } : {}) };
  return { onnx: linearClassifier({ classes: 3 }).bytes, manifest };
}

/** The fixed detector's two boxes, letterboxed into 64×64, labelled car and person. */
export function carPersonDetectorEntry(): ModelEntry {
  const input = { resize: 'letterbox', width: 64, height: 64, colorOrder: 'RGB' };
  return { onnx: fixedDetector().bytes, manifest: { task: 'detect', input, head: { labels: ['car', 'person'] } } };
}

/** `redGreenLogits` served stretched to side × side. */
export function redGreenSegmentEntry(side: number): ModelEntry {
  const input = { resize: 'stretch', width: side, height: side, colorOrder: 'RGB' };
  return { onnx: redGreenLogits(side).bytes, manifest: { task: 'segment', input, head: { labels: ['background', 'red', 'green'] } } };
}

/** The raw model over `plainInput`. */
export function rawEntry(): ModelEntry {
  return { onnx: rawModel().bytes, manifest: { task: 'raw', input: plainInput } };
}
