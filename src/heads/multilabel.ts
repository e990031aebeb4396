import { z } from 'zod';
import { labelsOption, outputOption, unitInterval } from './common-options.js';
import { outputMismatch } from './output-error.js';
import { labelCountProblem, numericData } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';

export const multilabelOptions = z.strictObject({
  labels: labelsOption,
  /** A label is present when its probability is above this. */
  threshold: unitInterval(0.5),
  /** Apply the logistic sigmoid to each value (logits); false for a model that outputs probabilities. */
  sigmoid: z.boolean().default(true),
  output: outputOption,
});
export type MultilabelOptions = z.output<typeof multilabelOptions>;

export interface MultilabelAnswer {
  /** The labels above the threshold, most probable first (equal ones in label order). */
  labels: string[];
  /** Every label's probability, in label order. */
  probabilities: Record<string, number>;
}

const TASK = 'multilabel';

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Class count of a `[1, C]` or `[1, C, 1, 1]` output. */
function classCount(dims: readonly number[]): number | undefined {
  if (dims.length < 2 || dims[0] !== 1) return undefined;
  for (let i = 2; i < dims.length; i++) if (dims[i] !== 1) return undefined;
  return dims[1];
}

/**
 * Independent labels: each class gets its own probability (sigmoid of its logit) and is present
 * above the threshold, so an image may have none, one or several (skin issues, damage kinds).
 */
export const multilabelHead = tensorHead(
  TASK,
  multilabelOptions,
  (tensor, _geometry, options): MultilabelAnswer => {
    const count = classCount(tensor.dims);
    if (count === undefined) throw outputMismatch(TASK, `expected output dims [1, C] or [1, C, 1, 1], got [${tensor.dims.join(', ')}]`);
    if (count !== options.labels.length) throw outputMismatch(TASK, `model outputs ${count} classes but ${options.labels.length} labels are configured`);
    const values = numericData(TASK, tensor);
    const probabilities: Record<string, number> = {};
    const present: Array<{ label: string; p: number; i: number }> = [];
    options.labels.forEach((label, i) => {
      const v = values[i];
      if (!Number.isFinite(v)) throw outputMismatch(TASK, `output value ${i} is ${v}`);
      const p = options.sigmoid ? sigmoid(v) : v;
      if (!options.sigmoid && (p < 0 || p > 1)) throw outputMismatch(TASK, `output value ${i} is ${v}, not a probability (set "sigmoid": true for logits)`);
      // defineProperty so a label such as "__proto__" becomes a key instead of touching the prototype.
      Object.defineProperty(probabilities, label, { value: p, enumerable: true, writable: true, configurable: true });
      if (p > options.threshold) present.push({ label, p, i });
    });
    present.sort((a, b) => b.p - a.p || a.i - b.i);
    return { labels: present.map((x) => x.label), probabilities };
  },
  {
    checkOutputs: (outputs, options) => labelCountProblem(outputs, options),
  },
);
