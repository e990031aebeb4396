import { describe, expect, it } from 'vitest';
import { iou, nms } from '../dist/src/heads/index.js';

const boxes = (...list: number[][]) => Float64Array.from(list.flat());

describe('iou', () => {
  it('uses continuous coordinates (no +1 pixel term)', () => {
    const b = boxes([0, 0, 10, 10], [5, 5, 15, 15]);
    expect(iou(b, 0, 1)).toBe(25 / 175);
    expect(iou(b, 0, 0)).toBe(1);
  });

  it('is 0 for touching, disjoint and empty boxes', () => {
    const b = boxes([0, 0, 10, 10], [10, 0, 20, 10], [30, 30, 40, 40], [2, 2, 2, 2]);
    expect(iou(b, 0, 1)).toBe(0);
    expect(iou(b, 0, 2)).toBe(0);
    expect(iou(b, 0, 3)).toBe(0);
    expect(iou(b, 3, 3)).toBe(0);
  });
});

describe('nms', () => {
  it('keeps best first and suppresses only IoU strictly above the threshold', () => {
    // IoU(1, 0) = 100 / 200 = 0.5 exactly; IoU(1, 2) = 81 / 100; IoU(2, 0) = 81 / 200.
    const b = boxes([0, 0, 10, 20], [0, 0, 10, 10], [1, 1, 10, 10]);
    const scores = Float64Array.of(0.5, 0.9, 0.7);
    expect(Array.from(nms(b, scores, 3, { iouThreshold: 0.5, maxKept: 10 }))).toEqual([1, 0]);
    expect(Array.from(nms(b, scores, 3, { iouThreshold: 0.49, maxKept: 10 }))).toEqual([1]);
    expect(Array.from(nms(b, scores, 3, { iouThreshold: 0.85, maxKept: 10 }))).toEqual([1, 2, 0]);
  });

  it('breaks score ties by lower index and respects classes, count and maxKept', () => {
    const b = boxes([0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]);
    const scores = Float64Array.of(0.5, 0.5, 0.5, 0.1);
    expect(Array.from(nms(b, scores, 4, { iouThreshold: 0.5, maxKept: 10 }))).toEqual([0, 3]);
    const classes = Int32Array.of(0, 1, 0, 0);
    expect(Array.from(nms(b, scores, 4, { iouThreshold: 0.5, maxKept: 10, classes }))).toEqual([0, 1, 3]);
    expect(Array.from(nms(b, scores, 4, { iouThreshold: 0.5, maxKept: 2, classes }))).toEqual([0, 1]);
    expect(Array.from(nms(b, scores, 2, { iouThreshold: 0.5, maxKept: 10, classes }))).toEqual([0, 1]);
    expect(Array.from(nms(b, scores, 0, { iouThreshold: 0.5, maxKept: 10 }))).toEqual([]);
  });
});
