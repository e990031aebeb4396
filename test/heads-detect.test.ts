import { describe, expect, it } from 'vitest';
import { heads, type ImageGeometry } from '../dist/src/heads/index.js';

/** 200×100 photo letterboxed into 100×100: scale 0.5, content 100×50, 25 px bars top and bottom. */
const letterbox: ImageGeometry = {
  original: { width: 200, height: 100 },
  tensor: { width: 100, height: 100 },
  transform: { scaleX: 0.5, scaleY: 0.5, padX: 0, padY: 25 },
};

const identity: ImageGeometry = {
  original: { width: 100, height: 100 },
  tensor: { width: 100, height: 100 },
  transform: { scaleX: 1, scaleY: 1, padX: 0, padY: 0 },
};

/** rows[a] = one anchor's channel values; written channels first ([1, C, A]) or anchors first ([1, A, C]). */
function output(rows: number[][], layout: 'channels-first' | 'anchors-first') {
  const anchors = rows.length;
  const channels = rows[0]!.length;
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
    const corners = rows.map(([cx, cy, w, h, ...scores]) => [cx! - w! / 2, cy! - h! / 2, cx! + w! / 2, cy! + h! / 2, ...scores]);
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
