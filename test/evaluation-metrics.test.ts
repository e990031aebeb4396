import { describe, expect, it } from 'vitest';
import { classifyMetrics, type ClassifySample } from '../dist/src/evaluation/classify-metrics.js';
import { detectMetrics, type DetectImage } from '../dist/src/evaluation/detect-metrics.js';
import { rasterizePolygons, type LabelledPolygon } from '../dist/src/evaluation/polygon-raster.js';
import { SegmentAccumulator } from '../dist/src/evaluation/segment-metrics.js';
import { editDistance, textMetrics } from '../dist/src/evaluation/text-metrics.js';
import { findPolygons } from '../dist/src/polygons/index.js';
import { labelMap } from './helpers/masks.js';

/** A sample whose predicted label is the head's pick: the highest probability, the lower index on a tie. */
function sample(truth: number, probabilities: number[]): ClassifySample {
  let predicted = 0;
  probabilities.forEach((p, i) => {
    if (p > probabilities[predicted]) predicted = i;
  });
  return { truth, predicted, probabilities };
}

describe('classify metrics', () => {
  // a: 3 samples, b: 2, c: none but predicted once, d: never seen nor predicted.
  const labels = ['a', 'b', 'c', 'd'];
  const samples = [
    sample(0, [0.7, 0.2, 0.1, 0]),
    sample(0, [0.3, 0.6, 0.1, 0]),
    sample(1, [0.1, 0.8, 0.1, 0]),
    sample(1, [0.5, 0.5, 0, 0]), // a tie: the head answers a, so b ranks second
    sample(0, [0.2, 0.1, 0.7, 0]),
  ];

  it('accuracy, top-k (ties in label order), confusion matrix', () => {
    const m = classifyMetrics(labels, samples, { topK: [1, 2, 5] });
    expect(samples[3].predicted).toBe(0);
    expect(m.samples).toBe(5);
    expect(m.accuracy).toBe(0.4);
    expect(m.topK).toEqual([
      { k: 1, accuracy: 0.4 },
      { k: 2, accuracy: 1 },
      { k: 4, accuracy: 1 },
    ]);
    expect(m.confusion).toEqual({
      labels,
      matrix: [
        [1, 1, 1, 0],
        [1, 1, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ],
    });
    expect(m.binary).toBeNull();
  });

  it('per-class precision, recall, F1 and support, with null where undefined, and their averages', () => {
    const m = classifyMetrics(labels, samples);
    expect(m.perClass[0]).toEqual({ label: 'a', support: 3, predicted: 2, truePositives: 1, precision: 0.5, recall: 1 / 3, f1: expect.closeTo(0.4, 12) });
    expect(m.perClass[1]).toEqual({ label: 'b', support: 2, predicted: 2, truePositives: 1, precision: 0.5, recall: 0.5, f1: 0.5 });
    // Predicted once, never true: precision 0, recall undefined.
    expect(m.perClass[2]).toEqual({ label: 'c', support: 0, predicted: 1, truePositives: 0, precision: 0, recall: null, f1: null });
    // Absent from the set and from the answers.
    expect(m.perClass[3]).toEqual({ label: 'd', support: 0, predicted: 0, truePositives: 0, precision: null, recall: null, f1: null });
    expect(m.macro.precision).toBeCloseTo(1 / 3, 12);
    expect(m.macro.recall).toBeCloseTo(5 / 12, 12);
    expect(m.macro.f1).toBeCloseTo(0.45, 12);
    expect(m.weighted.precision).toBeCloseTo(0.5, 12);
    expect(m.weighted.recall).toBeCloseTo(0.4, 12);
    expect(m.weighted.f1).toBeCloseTo(0.44, 12);
  });

  it('an empty set has no ratios', () => {
    const m = classifyMetrics(['x', 'y', 'z'], []);
    expect([m.accuracy, m.topK, m.macro, m.weighted]).toEqual([
      null,
      [
        { k: 1, accuracy: null },
        { k: 3, accuracy: null },
      ],
      { precision: null, recall: null, f1: null },
      { precision: null, recall: null, f1: null },
    ]);
  });

  it('binary: ROC points with tied scores moving together, AUC, PR points and average precision', () => {
    // Positive scores 0.9, 0.7, 0.7, 0.2; negative 0.8, 0.7, 0.3.
    const scored: Array<[number, number]> = [
      [1, 0.9],
      [0, 0.8],
      [1, 0.7],
      [1, 0.7],
      [0, 0.7],
      [0, 0.3],
      [1, 0.2],
    ];
    const m = classifyMetrics(
      ['neg', 'pos'],
      scored.map(([t, s]) => sample(t, [1 - s, s])),
    );
    const b = m.binary!;
    expect([b.positive, b.positives, b.negatives]).toEqual(['pos', 4, 3]);
    expect(b.roc).toEqual([
      { threshold: null, fpr: 0, tpr: 0 },
      { threshold: 0.9, fpr: 0, tpr: 0.25 },
      { threshold: 0.8, fpr: 1 / 3, tpr: 0.25 },
      { threshold: 0.7, fpr: 2 / 3, tpr: 0.75 },
      { threshold: 0.3, fpr: 1, tpr: 0.75 },
      { threshold: 0.2, fpr: 1, tpr: 1 },
    ]);
    // Mann–Whitney: 6 of the 12 positive–negative pairs ordered right, a tie counting half.
    expect(b.auc).toBeCloseTo(0.5, 12);
    expect(b.pr).toEqual([
      { threshold: 0.9, precision: 1, recall: 0.25 },
      { threshold: 0.8, precision: 0.5, recall: 0.25 },
      { threshold: 0.7, precision: 0.6, recall: 0.75 },
      { threshold: 0.3, precision: 0.5, recall: 0.75 },
      { threshold: 0.2, precision: 4 / 7, recall: 1 },
    ]);
    expect(b.averagePrecision).toBeCloseTo(0.25 + 0.3 + 1 / 7, 12);
    // Confusion at the head's answer (0.5 on the positive's side): 0.7 and 0.8 cross it, so do 0.9.
    expect(m.confusion.matrix).toEqual([
      [1, 2],
      [1, 3],
    ]);
  });

  it('binary: a perfect ranking has AUC 1; one class alone has no AUC', () => {
    const perfect = classifyMetrics(['n', 'p'], [sample(1, [0.1, 0.9]), sample(0, [0.6, 0.4]), sample(1, [0.4, 0.6])]);
    expect([perfect.binary!.auc, perfect.binary!.averagePrecision]).toEqual([1, 1]);
    const onlyPositive = classifyMetrics(['n', 'p'], [sample(1, [0.1, 0.9])]);
    expect([onlyPositive.binary!.auc, onlyPositive.binary!.averagePrecision]).toEqual([null, 1]);
    const onlyNegative = classifyMetrics(['n', 'p'], [sample(0, [0.9, 0.1])], { positiveLabel: 'p' });
    expect([onlyNegative.binary!.auc, onlyNegative.binary!.averagePrecision]).toEqual([null, null]);
    const otherWay = classifyMetrics(['n', 'p'], [sample(1, [0.1, 0.9]), sample(0, [0.6, 0.4])], { positiveLabel: 'n' });
    expect([otherWay.binary!.positive, otherWay.binary!.auc]).toEqual(['n', 1]);
  });
});

describe('text metrics', () => {
  it('edit distance counts code points', () => {
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(editDistance([...'😀a'], [...'a'])).toBe(1);
    expect(editDistance([], [...'abc'])).toBe(3);
    expect(editDistance(['a', 'b'], [])).toBe(2);
  });

  it('CER, WER and exact lines over the corpus, empty predictions and empty references included', () => {
    const m = textMetrics([
      { file: 'same.png', expected: 'hello world', predicted: 'hello world' },
      { file: 'empty.png', expected: 'abc', predicted: '' },
      { file: 'off.png', expected: 'the cat sat', predicted: 'the bat sat on' },
      { file: 'blank.png', expected: '', predicted: 'x' },
    ]);
    expect(m.characters).toEqual({ reference: 25, edits: 8 });
    expect(m.words).toEqual({ reference: 6, edits: 4 });
    expect(m.cer).toBe(8 / 25);
    expect(m.wer).toBe(4 / 6);
    expect(m.exactLineAccuracy).toBe(0.25);
    expect(m.worst.map((w) => [w.file, w.characterEdits, w.wordEdits])).toEqual([
      ['off.png', 4, 2],
      ['empty.png', 3, 1],
      ['blank.png', 1, 1],
    ]);
  });

  it('leading and trailing whitespace is not an error; inner whitespace is', () => {
    const m = textMetrics([
      { file: 'padded.png', expected: 'a b', predicted: ' a b  ' },
      { file: 'inner.png', expected: 'a b', predicted: 'a  b' },
    ]);
    expect([m.characters, m.words, m.exactLineAccuracy]).toEqual([{ reference: 6, edits: 1 }, { reference: 4, edits: 0 }, 0.5]);
  });

  it('no reference text: no rates', () => {
    const m = textMetrics([{ file: 'a', expected: '', predicted: '' }]);
    expect([m.cer, m.wer, m.exactLineAccuracy]).toEqual([null, null, 1]);
    expect(textMetrics([]).exactLineAccuracy).toBeNull();
  });
});

describe('detect metrics (COCO)', () => {
  const labels = ['car', 'person', 'bike', 'truck'];
  const images: DetectImage[] = [
    {
      truth: [
        { label: 0, box: [0, 0, 10, 10] },
        { label: 0, box: [20, 20, 30, 30] },
        { label: 1, box: [0, 0, 10, 20] },
      ],
      detections: [
        { label: 0, score: 0.9, box: [0, 0, 10, 10] }, // IoU 1
        { label: 0, score: 0.8, box: [21, 20, 31, 30] }, // IoU 90/110 ≈ 0.818 with the second car
        { label: 0, score: 0.7, box: [0, 0, 10, 10] }, // a duplicate: its box is taken
        { label: 1, score: 0.6, box: [0, 0, 10, 10] }, // IoU exactly 0.5
      ],
    },
    {
      truth: [
        { label: 0, box: [0, 0, 10, 10] },
        { label: 3, box: [40, 40, 60, 60] }, // a truck nobody found
      ],
      detections: [
        { label: 0, score: 0.8, box: [50, 50, 60, 60] }, // same score as image 1's second car: image order first
        { label: 2, score: 0.5, box: [0, 0, 5, 5] }, // a class with no ground truth
      ],
    },
  ];

  it('AP per class and threshold, mAP@0.5 and mAP@[.5:.95], precision and recall at IoU 0.5', () => {
    const m = detectMetrics(labels, images);
    const [car, person, bike, truck] = m.perClass;
    // Car at IoU ≤ 0.8: hits T, T, F, F over 3 boxes → precision 1 up to recall 2/3: 67 of 101 points.
    // Above 0.818: T, F, F, F → 34 points.
    expect(car.ap50).toBeCloseTo(67 / 101, 12);
    expect(car.ap).toBeCloseTo((7 * 67 + 3 * 34) / 1010, 12);
    expect([car.groundTruth, car.detections, car.precision, car.recall]).toEqual([3, 4, 0.5, 2 / 3]);
    expect(car.curve!.slice(0, 67).every((p) => p === 1)).toBe(true);
    expect(car.curve!.slice(67).every((p) => p === 0)).toBe(true);
    // IoU exactly 0.5 matches at 0.5 only.
    expect([person.ap50, person.ap, person.precision, person.recall]).toEqual([1, 0.1, 1, 1]);
    expect([bike.ap50, bike.ap, bike.precision, bike.recall, bike.curve]).toEqual([null, null, 0, null, null]);
    expect([truck.ap50, truck.ap, truck.precision, truck.recall]).toEqual([0, 0, null, 0]);
    expect(m.map50).toBeCloseTo((67 / 101 + 1 + 0) / 3, 12);
    expect(m.map).toBeCloseTo(((7 * 67 + 3 * 34) / 1010 + 0.1 + 0) / 3, 12);
    expect([m.truePositives, m.detections, m.groundTruth, m.precision, m.recall]).toEqual([3, 6, 5, 0.5, 0.6]);
    expect(m.iouThresholds).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
  });

  it('empty predictions score 0; no images score nothing', () => {
    const none = detectMetrics(['car'], [{ truth: [{ label: 0, box: [0, 0, 1, 1] }], detections: [] }]);
    expect([none.map50, none.map, none.precision, none.recall]).toEqual([0, 0, null, 0]);
    const nothing = detectMetrics(['car'], []);
    expect([nothing.map50, nothing.map, nothing.precision, nothing.recall]).toEqual([null, null, null, null]);
  });

  it('a detection takes the ground-truth box it overlaps most, not the first', () => {
    const m = detectMetrics(
      ['car'],
      [
        {
          truth: [
            { label: 0, box: [0, 0, 10, 10] },
            { label: 0, box: [2, 0, 12, 10] },
          ],
          // The first detection overlaps the second box more; the second detection then still has the first box.
          detections: [
            { label: 0, score: 0.9, box: [2, 0, 12, 10] },
            { label: 0, score: 0.8, box: [0, 0, 10, 10] },
          ],
        },
      ],
    );
    expect(m.map).toBe(1);
  });
});

describe('segment metrics', () => {
  it('per-class IoU over the set, mean over classes present, ignored and unknown pixels left out', () => {
    const acc = new SegmentAccumulator(['bg', 'a', 'b', 'c']);
    expect(acc.add(Uint8Array.from([0, 1, 1, 2, 255, 7]), Uint8Array.from([0, 1, 0, 2, 1, 1]))).toEqual({ unknownPixels: 1 });
    const m = acc.metrics();
    expect(m.perClass.map((c) => [c.label, c.truthPixels, c.predictedPixels, c.intersection, c.union, c.iou])).toEqual([
      ['bg', 1, 2, 1, 2, 0.5],
      ['a', 2, 1, 1, 2, 0.5],
      ['b', 1, 1, 1, 1, 1],
      ['c', 0, 0, 0, 0, null],
    ]);
    expect(m.meanIou).toBeCloseTo(2 / 3, 12);
    expect([m.images, m.pixels, m.pixelAccuracy]).toEqual([1, 4, 0.75]);
  });

  it('sums over images before dividing', () => {
    const acc = new SegmentAccumulator(['bg', 'a']);
    acc.add(Uint8Array.from([1, 1, 1, 1]), Uint8Array.from([1, 1, 1, 1]));
    acc.add(Uint8Array.from([1, 0]), Uint8Array.from([0, 0]));
    const m = acc.metrics();
    expect(m.perClass.map((c) => c.iou)).toEqual([0.5, 0.8]);
  });
});

describe('polygons back to pixels', () => {
  it('fills outlines through pixel centres, keeping a hole', () => {
    const block: LabelledPolygon = {
      label: 1,
      points: [
        [1.5, 1.5],
        [1.5, 3.5],
        [3.5, 3.5],
        [3.5, 1.5],
      ],
      holes: [],
    };
    const map = rasterizePolygons([block], 5, 5, 0);
    const expected = new Uint8Array(25);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) expected[y * 5 + x] = 1;
    expect([...map]).toEqual([...expected]);

    const ring: LabelledPolygon = {
      label: 2,
      points: [
        [0.5, 0.5],
        [0.5, 4.5],
        [4.5, 4.5],
        [4.5, 0.5],
      ],
      holes: [
        [
          [2.5, 1.5],
          [1.5, 2.5],
          [2.5, 3.5],
          [3.5, 2.5],
        ],
      ],
    };
    const holed = rasterizePolygons([ring], 5, 5, 0);
    expect([...holed].map((v, i) => (i === 12 ? v === 0 : v === 2)).every(Boolean)).toBe(true);
    // A lone pixel is a one-point outline.
    expect([...rasterizePolygons([{ label: 3, points: [[2.5, 0.5]], holes: [] }], 4, 2, 0)]).toEqual([0, 0, 3, 0, 0, 0, 0, 0]);
  });

  it('gives back exactly the label map the contours were traced from', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const width = 37;
      const height = 29;
      const truth = labelMap(width, height, 4, seed);
      const regions = findPolygons({ kind: 'labels', data: truth, width, height, background: 0 });
      const toRing = (flat: Float64Array) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i] + 0.5, flat[2 * i + 1] + 0.5] as [number, number]);
      const polygons = regions.map((r) => ({ label: r.label, points: toRing(r.outer), holes: r.holes.map(toRing) }));
      const map = rasterizePolygons(polygons, width, height, 0);
      const wrong = [...map].filter((v, i) => v !== truth[i]).length;
      expect(wrong, `seed ${seed}`).toBe(0);
    }
  });
});
