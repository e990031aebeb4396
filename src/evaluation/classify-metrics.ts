/**
 * Classification metrics over a labelled set: accuracy, top-k accuracy, per-class precision /
 * recall / F1 with support, the confusion matrix, and for two-class models the threshold sweep
 * (ROC points with AUC, precision–recall points with average precision).
 *
 * Undefined ratios are null, never 0 or NaN: precision of a class nothing was predicted as,
 * recall of a class with no samples, F1 where either is null. Averages take the classes whose
 * value is defined (macro) or weigh them by support (weighted).
 */

/** One scored sample: indices into the model's labels. */
export interface ClassifySample {
  truth: number;
  /** The label the model answered (its top-1, ties already broken by label order). */
  predicted: number;
  /** Every label's probability, in label order. */
  probabilities: readonly number[];
}

export interface ClassMetrics {
  label: string;
  /** Samples of this class in the set. */
  support: number;
  /** Samples the model called this class. */
  predicted: number;
  truePositives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface Averages {
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface RocPoint {
  /** Score at or above which a sample is called positive; null for the (0, 0) start. */
  threshold: number | null;
  fpr: number;
  tpr: number;
}

export interface PrPoint {
  threshold: number;
  precision: number;
  recall: number;
}

export interface BinaryMetrics {
  positive: string;
  /** Samples of the positive class and of the other one. */
  positives: number;
  negatives: number;
  /** One point per distinct score, highest first; equal scores move together (a diagonal step). */
  roc: RocPoint[];
  /** Trapezoidal area under `roc`; null without positives or without negatives. */
  auc: number | null;
  pr: PrPoint[];
  /** Σ (R_i − R_{i−1}) · P_i over `pr`; null without positives. */
  averagePrecision: number | null;
}

export interface ClassifyMetrics {
  task: 'classify';
  samples: number;
  accuracy: number | null;
  topK: Array<{ k: number; accuracy: number | null }>;
  perClass: ClassMetrics[];
  macro: Averages;
  weighted: Averages;
  /** rows: true label, columns: predicted label, both in `labels` order. */
  confusion: { labels: string[]; matrix: number[][] };
  binary: BinaryMetrics | null;
}

export interface ClassifyMetricOptions {
  /** Top-k accuracies to report; each is capped at the class count. Default [1, 5]. */
  topK?: readonly number[];
  /** Two-class models: the label scored as positive. Default the second label. */
  positiveLabel?: string;
}

const ratio = (num: number, den: number): number | null => (den === 0 ? null : num / den);

/**
 * Rank of the true class among the probabilities, in the head's order: higher probability
 * first, equal probabilities in label order. 0 is the top.
 */
function rankOf(probabilities: readonly number[], truth: number): number {
  const p = probabilities[truth];
  let rank = 0;
  for (let c = 0; c < probabilities.length; c++) {
    const q = probabilities[c];
    if (q > p || (q === p && c < truth)) rank++;
  }
  return rank;
}

function average(values: ReadonlyArray<number | null>, weights?: readonly number[]): number | null {
  let sum = 0;
  let weight = 0;
  values.forEach((v, i) => {
    if (v === null) return;
    const w = weights === undefined ? 1 : weights[i];
    sum += v * w;
    weight += w;
  });
  return weight === 0 ? null : sum / weight;
}

export function classifyMetrics(labels: readonly string[], samples: readonly ClassifySample[], options: ClassifyMetricOptions = {}): ClassifyMetrics {
  const C = labels.length;
  const matrix = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (const s of samples) {
    matrix[s.truth][s.predicted]++;
    if (s.truth === s.predicted) correct++;
  }

  const ks = [...new Set((options.topK ?? [1, 5]).map((k) => Math.min(k, C)))].filter((k) => k >= 1).sort((a, b) => a - b);
  const ranks = samples.map((s) => rankOf(s.probabilities, s.truth));
  const topK = ks.map((k) => ({ k, accuracy: ratio(ranks.filter((r) => r < k).length, samples.length) }));

  const perClass: ClassMetrics[] = labels.map((label, c) => {
    const support = matrix[c].reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[c], 0);
    const tp = matrix[c][c];
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    const f1 = precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, support, predicted, truePositives: tp, precision, recall, f1 };
  });
  const supports = perClass.map((m) => m.support);
  const pick = (key: keyof Averages) => perClass.map((m) => m[key]);

  return {
    task: 'classify',
    samples: samples.length,
    accuracy: ratio(correct, samples.length),
    topK,
    perClass,
    macro: { precision: average(pick('precision')), recall: average(pick('recall')), f1: average(pick('f1')) },
    weighted: { precision: average(pick('precision'), supports), recall: average(pick('recall'), supports), f1: average(pick('f1'), supports) },
    confusion: { labels: [...labels], matrix },
    binary: C === 2 ? binaryMetrics(labels, samples, options.positiveLabel) : null,
  };
}

/** The threshold sweep of a two-class model: the positive label's probability is the score. */
export function binaryMetrics(labels: readonly string[], samples: readonly ClassifySample[], positiveLabel?: string): BinaryMetrics {
  const positive = positiveLabel === undefined ? 1 : labels.indexOf(positiveLabel);
  if (positive < 0) throw new Error(`positive label ${JSON.stringify(positiveLabel)} is not one of the model's labels`);
  const scored = samples.map((s) => ({ score: s.probabilities[positive], positive: s.truth === positive })).sort((a, b) => b.score - a.score);
  const P = scored.filter((s) => s.positive).length;
  const N = scored.length - P;

  const roc: RocPoint[] = [{ threshold: null, fpr: 0, tpr: 0 }];
  const pr: PrPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < scored.length;) {
    const threshold = scored[i].score;
    // Samples with the same score cross the threshold together.
    for (; i < scored.length && scored[i].score === threshold; i++) {
      if (scored[i].positive) tp++;
      else fp++;
    }
    roc.push({ threshold, fpr: N === 0 ? 0 : fp / N, tpr: P === 0 ? 0 : tp / P });
    pr.push({ threshold, precision: tp / (tp + fp), recall: P === 0 ? 0 : tp / P });
  }

  let auc: number | null = null;
  if (P > 0 && N > 0) {
    auc = 0;
    for (let i = 1; i < roc.length; i++) auc += ((roc[i].fpr - roc[i - 1].fpr) * (roc[i].tpr + roc[i - 1].tpr)) / 2;
  }
  let averagePrecision: number | null = null;
  if (P > 0) {
    averagePrecision = 0;
    let previous = 0;
    for (const point of pr) {
      averagePrecision += (point.recall - previous) * point.precision;
      previous = point.recall;
    }
  }
  return { positive: labels[positive], positives: P, negatives: N, roc, auc, pr, averagePrecision };
}
