/**
 * Detection metrics the COCO way: per class and IoU threshold, detections best score first are
 * matched greedily to the unmatched ground-truth box they overlap most (IoU ≥ the threshold);
 * precision is made monotone from the right and read at 101 recall points (0, 0.01, …, 1); AP
 * is their mean. mAP@0.5 averages AP at 0.5 over the classes that have ground truth; mAP@[.5:.95]
 * averages AP over the ten thresholds 0.5, 0.55, …, 0.95 too. Equal scores keep image order,
 * then the model's order within an image (COCO's stable sort). Boxes are continuous
 * `[x1, y1, x2, y2]` (no +1 pixel term). Every detection the model returned counts: they are
 * already filtered by its score threshold, so precision and recall "at the model's threshold"
 * are those of the whole set at IoU 0.5.
 */

export type Box = readonly [number, number, number, number];

export interface DetectImage {
  /** Ground-truth boxes with their class index. */
  truth: ReadonlyArray<{ label: number; box: Box }>;
  /** Model detections, in the order the model gave them. */
  detections: ReadonlyArray<{ label: number; score: number; box: Box }>;
}

export interface DetectClassMetrics {
  label: string;
  groundTruth: number;
  detections: number;
  /** AP at IoU 0.5; null for a class with no ground truth (COCO leaves it out of the mean). */
  ap50: number | null;
  /** AP averaged over IoU 0.5:0.95. */
  ap: number | null;
  /** At IoU 0.5 over every detection returned. */
  precision: number | null;
  recall: number | null;
  /** Interpolated precision at recall 0, 0.01, …, 1 (IoU 0.5); null without ground truth. */
  curve: number[] | null;
}

export interface DetectMetrics {
  task: 'detect';
  images: number;
  iouThresholds: number[];
  map50: number | null;
  map: number | null;
  /** Pooled over classes, at IoU 0.5. */
  precision: number | null;
  recall: number | null;
  truePositives: number;
  detections: number;
  groundTruth: number;
  perClass: DetectClassMetrics[];
}

export const IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => Math.round((0.5 + 0.05 * i) * 100) / 100);
const RECALL_POINTS = 101;

export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** For each detection of one class in one image (best score first), whether it matched at `threshold`. */
function matchImage(truth: readonly Box[], detections: ReadonlyArray<{ box: Box }>, threshold: number): boolean[] {
  const taken = new Array<boolean>(truth.length).fill(false);
  return detections.map((d) => {
    let best = -1;
    let bestIou = threshold;
    for (let g = 0; g < truth.length; g++) {
      if (taken[g]) continue;
      const iou = boxIou(d.box, truth[g]);
      // ≥ the threshold matches; among matches the highest IoU wins, the first on a tie.
      if (iou >= bestIou && (best === -1 || iou > bestIou)) {
        best = g;
        bestIou = iou;
      }
    }
    if (best === -1) return false;
    taken[best] = true;
    return true;
  });
}

/** COCO's 101-point interpolated AP from matches sorted best score first. */
function averagePrecision(matches: readonly boolean[], groundTruth: number): { ap: number; curve: number[] } {
  const n = matches.length;
  const precision = new Array<number>(n);
  const recall = new Array<number>(n);
  let tp = 0;
  for (let i = 0; i < n; i++) {
    if (matches[i]) tp++;
    precision[i] = tp / (i + 1);
    recall[i] = tp / groundTruth;
  }
  for (let i = n - 1; i > 0; i--) if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i]!;
  const curve: number[] = [];
  let at = 0;
  for (let r = 0; r < RECALL_POINTS; r++) {
    const level = r / (RECALL_POINTS - 1);
    while (at < n && recall[at] < level) at++;
    curve.push(at < n ? precision[at] : 0);
  }
  return { ap: curve.reduce((a, b) => a + b, 0) / RECALL_POINTS, curve };
}

const mean = (values: ReadonlyArray<number | null>): number | null => {
  const defined = values.filter((v): v is number => v !== null);
  return defined.length === 0 ? null : defined.reduce((a, b) => a + b, 0) / defined.length;
};

export function detectMetrics(labels: readonly string[], images: readonly DetectImage[]): DetectMetrics {
  const perClass: DetectClassMetrics[] = [];
  let pooledTp = 0;
  let pooledDetections = 0;
  let pooledTruth = 0;
  for (let c = 0; c < labels.length; c++) {
    // Per image: this class's truth boxes and its detections best score first (stable).
    const byImage = images.map((image) => ({
      truth: image.truth.filter((t) => t.label === c).map((t) => t.box),
      detections: image.detections
        .map((d, order) => ({ ...d, order }))
        .filter((d) => d.label === c)
        .sort((a, b) => b.score - a.score || a.order - b.order),
    }));
    const groundTruth = byImage.reduce((a, i) => a + i.truth.length, 0);
    const detections = byImage.reduce((a, i) => a + i.detections.length, 0);
    const aps: number[] = [];
    let curve: number[] | null = null;
    let tpAt50 = 0;
    for (const threshold of IOU_THRESHOLDS) {
      const scored: Array<{ score: number; image: number; rank: number; match: boolean }> = [];
      byImage.forEach((image, i) => {
        const matched = matchImage(image.truth, image.detections, threshold);
        image.detections.forEach((d, rank) => scored.push({ score: d.score, image: i, rank, match: matched[rank] }));
      });
      scored.sort((a, b) => b.score - a.score || a.image - b.image || a.rank - b.rank);
      if (threshold === 0.5) tpAt50 = scored.filter((s) => s.match).length;
      if (groundTruth === 0) continue;
      const result = averagePrecision(
        scored.map((s) => s.match),
        groundTruth,
      );
      aps.push(result.ap);
      if (threshold === 0.5) curve = result.curve;
    }
    pooledTp += tpAt50;
    pooledDetections += detections;
    pooledTruth += groundTruth;
    perClass.push({
      label: labels[c],
      groundTruth,
      detections,
      ap50: groundTruth === 0 ? null : aps[0],
      ap: groundTruth === 0 ? null : aps.reduce((a, b) => a + b, 0) / aps.length,
      precision: detections === 0 ? null : tpAt50 / detections,
      recall: groundTruth === 0 ? null : tpAt50 / groundTruth,
      curve,
    });
  }
  return {
    task: 'detect',
    images: images.length,
    iouThresholds: [...IOU_THRESHOLDS],
    map50: mean(perClass.map((m) => m.ap50)),
    map: mean(perClass.map((m) => m.ap)),
    precision: pooledDetections === 0 ? null : pooledTp / pooledDetections,
    recall: pooledTruth === 0 ? null : pooledTp / pooledTruth,
    truePositives: pooledTp,
    detections: pooledDetections,
    groundTruth: pooledTruth,
    perClass,
  };
}
