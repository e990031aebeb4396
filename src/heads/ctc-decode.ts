import type { NumericData } from './tensor-access.js';

export interface CtcResult {
  /** Class index of each kept character, in order. */
  indices: Int32Array;
  /** Probability of each kept character (at the first step of its run). */
  probabilities: Float64Array;
}

/**
 * Greedy CTC decoding of a `[T, C]` row-major probability matrix: argmax per step (ties: lower
 * class), collapse runs of the same class, drop the blank. Each kept character's probability is the
 * one at the first step of its run, as PaddleOCR reports it.
 */
export function ctcGreedyDecode(data: NumericData, steps: number, classes: number, blankIndex: number): CtcResult {
  const indices = new Int32Array(steps);
  const probabilities = new Float64Array(steps);
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    let best = 0;
    let bestP = data[row];
    for (let c = 1; c < classes; c++) {
      const p = data[row + c];
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== previous && best !== blankIndex) {
      indices[kept] = best;
      probabilities[kept] = bestP;
      kept++;
    }
    previous = best;
  }
  return { indices: indices.subarray(0, kept), probabilities: probabilities.subarray(0, kept) };
}
