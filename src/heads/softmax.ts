import type { NumericData } from './tensor-access.js';

/** Allowed drift of a probability vector's sum from 1 (float32 rounding over many classes). */
export const DISTRIBUTION_TOLERANCE = 1e-3;

/** True when every value lies in [0, 1] and they sum to 1 within DISTRIBUTION_TOLERANCE. */
export function isProbabilityDistribution(values: NumericData): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= DISTRIBUTION_TOLERANCE;
}

/** Softmax into `out`; subtracting the maximum first keeps exp() from overflowing on large logits. */
export function softmax(values: NumericData, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i]!;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const e = Math.exp(values[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < values.length; i++) out[i] /= sum;
}
