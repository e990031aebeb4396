import { z } from 'zod';
import { labelsOption, outputOption, positiveCount } from './common-options.js';
import { outputMismatch } from './output-error.js';
import { isProbabilityDistribution, softmax } from './softmax.js';
import { labelCountProblem, numericData, type NumericData } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';

export const classifyOptions = z.strictObject({
  labels: labelsOption,
  /** 'auto': apply softmax unless the output already is a probability distribution. */
  softmax: z.union([z.literal('auto'), z.boolean()]).default('auto'),
  /** How many best classes to list; capped at the class count. */
  topK: positiveCount(5),
  output: outputOption,
});
export type ClassifyOptions = z.output<typeof classifyOptions>;

export interface ClassScore {
  label: string;
  confidence: number;
}

export interface ClassifyAnswer {
  label: string;
  confidence: number;
  /** Every label's probability, in label order. */
  probabilities: Record<string, number>;
  /** Best first; equal confidences keep label order. */
  topK: ClassScore[];
}

const TASK = 'classify';

/** Class count of a `[1, C]` or `[1, C, 1, 1]` output. */
function classCount(dims: readonly number[]): number | undefined {
  if (dims.length < 2 || dims[0] !== 1) return undefined;
  for (let i = 2; i < dims.length; i++) if (dims[i] !== 1) return undefined;
  return dims[1];
}

function classify(values: NumericData, options: ClassifyOptions): ClassifyAnswer {
  const { labels } = options;
  const count = values.length;
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(values[i])) throw outputMismatch(TASK, `output value ${i} is ${values[i]}`);
  }

  const probs = new Float64Array(count);
  const apply = options.softmax === 'auto' ? !isProbabilityDistribution(values) : options.softmax;
  if (apply) softmax(values, probs);
  else probs.set(values);

  // Index order breaks ties, so equal scores list in label order whatever the sort's stability.
  const order = Array.from({ length: count }, (_, i) => i);
  order.sort((a, b) => probs[b] - probs[a] || a - b);
  const k = Math.min(options.topK, count);
  const topK = new Array<ClassScore>(k);
  for (let i = 0; i < k; i++) topK[i] = { label: labels[order[i]], confidence: probs[order[i]] };

  const probabilities: Record<string, number> = {};
  // defineProperty so a label such as "__proto__" becomes a key instead of touching the prototype.
  for (let i = 0; i < count; i++) {
    Object.defineProperty(probabilities, labels[i], { value: probs[i], enumerable: true, writable: true, configurable: true });
  }

  return { label: topK[0].label, confidence: topK[0].confidence, probabilities, topK };
}

export const classifyHead = tensorHead(
  TASK,
  classifyOptions,
  (tensor, _geometry, options) => {
    const count = classCount(tensor.dims);
    if (count === undefined) {
      throw outputMismatch(TASK, `expected output dims [1, C] or [1, C, 1, 1], got [${tensor.dims.join(', ')}]`);
    }
    if (count !== options.labels.length) {
      throw outputMismatch(TASK, `model outputs ${count} classes but ${options.labels.length} labels are configured`);
    }
    return classify(numericData(TASK, tensor), options);
  },
  {
    checkOutputs: (outputs, options) => labelCountProblem(outputs, options),
  },
);
