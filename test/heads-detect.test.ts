import { describe, expect, it } from 'vitest';
import { heads } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

/** 200×100 photo letterboxed into 100×100: scale 0.5, content 100×50, 25 px bars top and bottom. */
const letterbox = imageGeometry([200, 100], [100, 100], { scaleX: 0.5, scaleY: 0.5, padY: 25 });

const identity = imageGeometry([100, 100]);

/** rows[a] = one anchor's channel values; written channels first ([1, C, A]) or anchors first ([1, A, C]). */
function output(rows: number[][], layout: 'channels-first' | 'anchors-first') {
  const anchors = rows.length;
  const channels = rows[0].length;
  const data = new Float32Array(anchors * channels);
  rows.forEach((row, a) =>
    row.forEach((v, c) => {
      data[layout === 'channels-first' ? c * anchors + a : a * channels + c] = v;
    }),
  );
  return { output0: { dims: layout === 'channels-first' ? [1, channels, anchors] : [1, anchors, channels], data } };
}

function detect(rows: number[][], layout: 'channels-first' | 'anchors-first', options: Record<string, unknown>, geometry = letterbox) {
  return heads.detect.run(output(rows, layout), geometry, heads.detect.options.parse(options));
}

// [cx, cy, w, h, cat, dog] in tensor pixels.
const rows = [
  [50, 50, 40, 20, 0.875, 0.125], // cat: tensor [30, 40, 70, 60] → original [60, 30, 140, 70]
  [20, 40, 20, 20, 0.25, 0.75], // dog: tensor [10, 30, 30, 50] → original [20, 10, 60, 50]
  [60, 60, 10, 10, 0.125, 0.0625], // below the 0.25 threshold
  [95, 30, 20, 20, 0.5, 0.25], // cat: tensor [85, 20, 105, 40] → original [170, -10, 210, 30], clamped
  [50, 10, 20, 10, 0.625, 0], // cat wholly in the top bar: tensor y 5..15 → original y < 0 → dropped
];

const expected = [
  { label: 'cat', score: 0.875, box: [60, 30, 140, 70] },
  { label: 'dog', score: 0.75, box: [20, 10, 60, 50] },
  { label: 'cat', score: 0.5, box: [170, 0, 200, 30] },
];

describe('detect head: decoding', () => {
  it('decodes channels-first output back to original pixels', () => {
    expect(detect(rows, 'channels-first', { labels: ['cat', 'dog'] })).toEqual({ detections: expected });
  });

  it('decodes anchors-first output identically', () => {
    expect(detect(rows, 'anchors-first', { labels: ['cat', 'dog'] })).toEqual({ detections: expected });
    expect(detect(rows, 'anchors-first', { labels: ['cat', 'dog'], layout: 'anchors-first' })).toEqual({
      detections: expected,
    });
  });

  it('prefers channels first when both axes match the channel count', () => {
    const six = [...rows, [10, 80, 10, 10, 0, 0]]; // 6 anchors × 6 channels
    expect(detect(six, 'channels-first', { labels: ['cat', 'dog'] })).toEqual({ detections: expected });
    expect(detect(six, 'anchors-first', { labels: ['cat', 'dog'], layout: 'anchors-first' })).toEqual({
      detections: expected,
    });
  });

  it('reads xyxy boxes', () => {
    const corners = rows.map(([cx, cy, w, h, ...scores]) => [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, ...scores]);
    expect(detect(corners, 'channels-first', { labels: ['cat', 'dog'], boxFormat: 'xyxy' })).toEqual({
      detections: expected,
    });
  });

  it('filters by score threshold, inclusively', () => {
    expect(detect(rows, 'channels-first', { labels: ['cat', 'dog'], scoreThreshold: 0.75 })).toEqual({
      detections: expected.slice(0, 2),
    });
    expect(detect(rows, 'channels-first', { labels: ['cat', 'dog'], scoreThreshold: 0.8 })).toEqual({
      detections: expected.slice(0, 1),
    });
  });

  it('keeps only the labels listed in keep', () => {
    expect(detect(rows, 'channels-first', { labels: ['cat', 'dog'], keep: ['dog'] })).toEqual({ detections: [expected[1]] });
    // A box's label is its best class: an anchor whose best class is not kept is dropped, not relabelled.
    expect(detect(rows, 'channels-first', { labels: ['cat', 'dog'], keep: ['cat'] })).toEqual({ detections: [expected[0], expected[2]] });
  });

  it('multiplies objectness into the class score', () => {
    // [cx, cy, w, h, obj, cat, dog]
    const withObj = [
      [50, 50, 40, 20, 0.5, 0.75, 0.25], // 0.375 cat
      [20, 40, 20, 20, 0.25, 0, 1], // 0.25 dog: kept, the threshold is inclusive
      [80, 60, 10, 10, 0.5, 0.25, 0], // 0.125: dropped though the class score alone would pass
    ];
    expect(detect(withObj, 'anchors-first', { labels: ['cat', 'dog'], objectness: true })).toEqual({
      detections: [
        { label: 'cat', score: 0.375, box: [60, 30, 140, 70] },
        { label: 'dog', score: 0.25, box: [20, 10, 60, 50] },
      ],
    });
  });

  it('refuses outputs whose channel count does not fit the labels', () => {
    const seven = rows.map((r) => [...r, 0]);
    expect(() => detect(seven, 'channels-first', { labels: ['cat', 'dog'] })).toThrow(
      'detect head: no axis of output [1, 7, 5] matches 6 channels (4 box values and 2 class scores)',
    );
    expect(() => detect(rows, 'anchors-first', { labels: ['cat', 'dog'], layout: 'channels-first' })).toThrow(
      'output [1, 5, 6] read as channels-first has 5 channels, expected 6 channels (4 box values and 2 class scores)',
    );
    expect(() => detect(rows, 'anchors-first', { labels: ['cat', 'dog'], objectness: true })).toThrow(
      'no axis of output [1, 5, 6] matches 7 channels (4 box values, objectness and 2 class scores)',
    );
  });
});

describe('detect head: NMS', () => {
  // xyxy boxes, identity transform.
  const overlapping = [
    [0, 0, 10, 10, 0.875, 0], // A cat
    [1, 0, 11, 10, 0, 0.75], // B dog: IoU(A) = 90 / 110
    [0, 1, 10, 11, 0.625, 0], // C cat: IoU(A) = 90 / 110, IoU(B) = 81 / 119
    [20, 20, 30, 30, 0.5, 0], // D cat: apart
    [5, 0, 15, 10, 0.375, 0], // E cat: IoU(A) = 50 / 150, IoU(B) = 60 / 140
  ];
  const A = { label: 'cat', score: 0.875, box: [0, 0, 10, 10] };
  const B = { label: 'dog', score: 0.75, box: [1, 0, 11, 10] };
  const D = { label: 'cat', score: 0.5, box: [20, 20, 30, 30] };
  const E = { label: 'cat', score: 0.375, box: [5, 0, 15, 10] };
  const base = { labels: ['cat', 'dog'], boxFormat: 'xyxy' };

  it('suppresses only within a class by default', () => {
    expect(detect(overlapping, 'channels-first', base, identity)).toEqual({ detections: [A, B, D, E] });
  });

  it('suppresses across classes when class-agnostic', () => {
    expect(detect(overlapping, 'channels-first', { ...base, classAgnosticNms: true }, identity)).toEqual({
      detections: [A, D, E],
    });
  });

  it('honours iouThreshold and maxDetections', () => {
    // At 0.3, E (IoU 1/3 with A) goes too.
    expect(detect(overlapping, 'channels-first', { ...base, iouThreshold: 0.3 }, identity)).toEqual({
      detections: [A, B, D],
    });
    expect(detect(overlapping, 'channels-first', { ...base, classAgnosticNms: true, maxDetections: 2 }, identity)).toEqual({
      detections: [A, D],
    });
  });
});

/** Rows of an already decoded `[1, K, 6]` output: x1, y1, x2, y2 (tensor pixels), score, class index. */
function decoded(rows: number[][]) {
  return { 'tower_0/detections': { dims: [1, rows.length, 6], data: Float32Array.from(rows.flat()) } };
}

/** 400×100 photo stretched to 100×100: x scaled by 1/4, y by 1. */
const stretched = imageGeometry([400, 100], [100, 100], { scaleX: 0.25 });

const vehicles = ['person', 'car', 'truck', 'bus'];
const decodedOptions = { labels: vehicles, layout: 'decoded', boxFormat: 'xyxy' };
const runDecoded = (rows: number[][], options: Record<string, unknown>, geometry = stretched) =>
  heads.detect.run(decoded(rows), geometry, heads.detect.options.parse({ ...decodedOptions, ...options }));

describe('detect head: already decoded rows ([1, K, 6])', () => {
  // Scores are multiples of 1/8 so that float32 holds them exactly.
  const rows = [
    [10, 20, 30, 60, 0.875, 1], // car → [40, 20, 120, 60]
    [11, 20, 31, 60, 0.75, 2], // truck on the same place: another class, kept
    [12, 20, 30, 60, 0.625, 1], // car: IoU with the first = 18 × 40 / (20 × 40) = 0.9 → suppressed
    [50, 10, 90, 90, 0.5, 0], // person → [200, 10, 360, 90]
    [95, -5, 110, 50, 0.375, 3], // bus beyond the right and top edges → clamped to [380, 0, 400, 50]
    [0, 0, 100, 100, 0.125, 0], // under the threshold
    [0, 0, 0, 0, 0, 1e9], // padding row: its class is never read
  ];

  it('maps boxes back per axis, keeps the score order, suppresses within a class', () => {
    expect(runDecoded(rows, {})).toEqual({
      detections: [
        { label: 'car', score: 0.875, box: [40, 20, 120, 60] },
        { label: 'truck', score: 0.75, box: [44, 20, 124, 60] },
        { label: 'person', score: 0.5, box: [200, 10, 360, 90] },
        { label: 'bus', score: 0.375, box: [380, 0, 400, 50] },
      ],
    });
  });

  it('suppresses across classes when class-agnostic, and honours the thresholds', () => {
    // truck vs car: IoU = 19 × 40 / (21 × 40) = 0.905 → gone when classes do not matter.
    expect(runDecoded(rows, { classAgnosticNms: true }).detections.map((d) => d.label)).toEqual(['car', 'person', 'bus']);
    expect(runDecoded(rows, { scoreThreshold: 0.5 }).detections.map((d) => d.score)).toEqual([0.875, 0.75, 0.5]);
    // At IoU 0.95 the second car (0.9 with the first) stays.
    expect(runDecoded(rows, { iouThreshold: 0.95 }).detections.map((d) => d.label)).toEqual(['car', 'truck', 'car', 'person', 'bus']);
    expect(runDecoded(rows, { maxDetections: 2 }).detections.map((d) => d.label)).toEqual(['car', 'truck']);
  });

  it('keeps only the labels listed in keep, before NMS', () => {
    expect(runDecoded(rows, { keep: ['bus', 'truck'] })).toEqual({
      detections: [
        { label: 'truck', score: 0.75, box: [44, 20, 124, 60] },
        { label: 'bus', score: 0.375, box: [380, 0, 400, 50] },
      ],
    });
    // Dropped before suppression: a car that is not kept cannot suppress the truck it overlaps.
    expect(runDecoded(rows, { keep: ['truck'], classAgnosticNms: true }).detections.map((d) => d.label)).toEqual(['truck']);
  });

  it('reads centre-and-size rows too', () => {
    expect(runDecoded([[20, 40, 20, 40, 0.875, 1]], { boxFormat: 'cxcywh' })).toEqual({
      detections: [{ label: 'car', score: 0.875, box: [40, 20, 120, 60] }],
    });
  });

  it('refuses outputs that are not [1, K, 6] and class indices outside the labels', () => {
    const seven = { out: { dims: [1, 2, 7], data: new Float32Array(14) } };
    expect(() => heads.detect.run(seven, stretched, heads.detect.options.parse(decodedOptions))).toThrow(
      'detect head: layout "decoded" expects output dims [1, K, 6] (x1, y1, x2, y2, score, class per row), got [1, 2, 7]',
    );
    expect(() => runDecoded([[0, 0, 10, 10, 0.5, 4]], {})).toThrow('detect head: row 0 has class index 4, outside the 4 labels');
    expect(() => runDecoded([[0, 0, 10, 10, 0.5, 1.5]], {})).toThrow('row 0 has class index 1.5, outside the 4 labels');
    // Read as class scores, the same output names the layout that fits it.
    const auto = heads.detect.options.parse({ labels: vehicles });
    expect(() => heads.detect.run(decoded(rows), stretched, auto)).toThrow(
      'no axis of output [1, 7, 6] matches 8 channels (4 box values and 4 class scores); an output of rows x1, y1, x2, y2, score, class needs layout "decoded"',
    );
  });

  it('validates keep and objectness against the layout and labels, naming the field', () => {
    const issues = (options: Record<string, unknown>) =>
      heads.detect.options.safeParse({ ...decodedOptions, ...options }).error?.issues.map((i) => [i.path, i.message]);
    expect(issues({ keep: ['car', 'lorry'] })).toEqual([[['keep', 1], '"lorry" is not one of the 4 labels']]);
    expect(issues({ keep: ['car', 'car'] })).toEqual([[['keep', 1], 'duplicate label "car"']]);
    expect(issues({ keep: [] })).toEqual([[['keep'], 'name at least one label to keep (leave keep out to keep every label)']]);
    expect(issues({ objectness: true })).toEqual([[['objectness'], 'layout "decoded" rows hold one score; objectness does not apply']]);
    expect(issues({ keep: ['bus'] })).toBeUndefined();
  });

  it('checks declared output dims at load', () => {
    const options = heads.detect.options.parse(decodedOptions);
    expect(heads.detect.checkOutputs!({ dets: [1, 100, 6] }, options)).toBeUndefined();
    expect(heads.detect.checkOutputs!({ dets: ['batch', 'k', 6] }, options)).toBeUndefined();
    expect(heads.detect.checkOutputs!({ dets: [1, 84, 8400] }, options)).toEqual({
      field: 'head.layout',
      message: 'layout "decoded" expects output "dets" of dims [N, K, 6], the model declares [1, 84, 8400]',
    });
    expect(heads.detect.checkOutputs!({ dets: [1, 84, 8400] }, heads.detect.options.parse({ labels: vehicles }))).toBeUndefined();
  });
});
