/**
 * Segmentation metrics over label maps: per-class IoU (intersection over union of pixels,
 * summed over the whole set before dividing, as mmseg and torchmetrics report it), mean IoU
 * over the classes that occur (union > 0), and pixel accuracy. Pixels whose truth is
 * `ignore` (255 by the VOC convention) do not count.
 */

export const IGNORE_INDEX = 255;

export interface SegmentClassMetrics {
  label: string;
  /** Pixels of this class in the masks. */
  truthPixels: number;
  /** Pixels the model gave this class (outside ignored pixels). */
  predictedPixels: number;
  intersection: number;
  union: number;
  /** null where neither the masks nor the model have this class. */
  iou: number | null;
}

export interface SegmentMetrics {
  task: 'segment';
  images: number;
  pixels: number;
  pixelAccuracy: number | null;
  meanIou: number | null;
  perClass: SegmentClassMetrics[];
}

/** Sums what the metrics need, image by image, so no map has to be kept. */
export class SegmentAccumulator {
  private readonly truth: Float64Array;
  private readonly predicted: Float64Array;
  private readonly intersection: Float64Array;
  private pixels = 0;
  private correct = 0;
  private images = 0;

  constructor(private readonly labels: readonly string[]) {
    this.truth = new Float64Array(labels.length);
    this.predicted = new Float64Array(labels.length);
    this.intersection = new Float64Array(labels.length);
  }

  /**
   * Adds one image: maps of class indices, same size. Truth values that are neither a class
   * nor `ignore` are skipped and counted in the answer, for the caller to report.
   */
  add(truth: Uint8Array, predicted: Uint8Array): { unknownPixels: number } {
    if (truth.length !== predicted.length) throw new Error('truth and prediction maps differ in size');
    const C = this.labels.length;
    let unknownPixels = 0;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i];
      if (t === IGNORE_INDEX) continue;
      if (t >= C) {
        unknownPixels++;
        continue;
      }
      const p = predicted[i];
      this.pixels++;
      this.truth[t]++;
      if (p < C) this.predicted[p]++;
      if (p === t) {
        this.correct++;
        this.intersection[t]++;
      }
    }
    this.images++;
    return { unknownPixels };
  }

  metrics(): SegmentMetrics {
    const perClass = this.labels.map((label, c) => {
      const intersection = this.intersection[c];
      const union = this.truth[c] + this.predicted[c] - intersection;
      return { label, truthPixels: this.truth[c], predictedPixels: this.predicted[c], intersection, union, iou: union === 0 ? null : intersection / union };
    });
    const defined = perClass.map((m) => m.iou).filter((v): v is number => v !== null);
    return {
      task: 'segment',
      images: this.images,
      pixels: this.pixels,
      pixelAccuracy: this.pixels === 0 ? null : this.correct / this.pixels,
      meanIou: defined.length === 0 ? null : defined.reduce((a, b) => a + b, 0) / defined.length,
      perClass,
    };
  }
}
