import { describe, expect, it } from 'vitest';
import { ProbabilityMap } from './helpers/probability-map.js';
import { heads, sortReadingOrder, type BoxXYXY, type ImageGeometry, type Point } from '../dist/src/heads/index.js';
import { imageGeometry } from './helpers/geometry.js';

const detect = (map: ProbabilityMap, geometry: ImageGeometry, options: Record<string, unknown> = {}) =>
  heads['text-detect'].run(map.outputs, geometry, heads['text-detect'].options.parse(options));

/** 80×60 photo letterboxed into 40×40: scale 0.5, content 40×30, 5 px bars top and bottom. */
const letterbox = imageGeometry([80, 60], [40, 40], { scaleX: 0.5, scaleY: 0.5, padY: 5 });

const identity = (width: number, height: number): ImageGeometry => imageGeometry([width, height]);

/**
 * A solid block of pixels x0..x1 × y0..y1 traces to the rectangle through its corner pixels'
 * centres: (x1 − x0) × (y1 − y0), area w·h, perimeter 2(w + h). The round-join unclip moves every
 * side out by d = area × ratio / perimeter, so the grown outline's bounds are the rectangle grown by
 * d on every side. (The block sizes below make d a dyadic fraction, so every number is exact in binary.)
 */
function block(x0: number, y0: number, x1: number, y1: number, ratio = 1.5) {
  const w = x1 - x0;
  const h = y1 - y0;
  const d = (w * h * ratio) / (2 * (w + h));
  return { rect: [x0, y0, x1, y1] as BoxXYXY, d, grown: [x0 - d, y0 - d, x1 + d, y1 + d] as BoxXYXY };
}

/** Map pixel-centre coordinates → original pixels: + 0.5, × tensor/map, − padding, ÷ scale, clamped. */
function toOriginal(g: ImageGeometry, mapWidth: number, mapHeight: number, [x1, y1, x2, y2]: BoxXYXY): BoxXYXY {
  const sx = g.tensor.width / mapWidth;
  const sy = g.tensor.height / mapHeight;
  const { scaleX, scaleY, padX, padY } = g.transform;
  const cx = (x: number) => Math.min(g.original.width, Math.max(0, ((x + 0.5) * sx - padX) / scaleX));
  const cy = (y: number) => Math.min(g.original.height, Math.max(0, ((y + 0.5) * sy - padY) / scaleY));
  return [cx(x1), cy(y1), cx(x2), cy(y2)];
}

/**
 * The polygon (original pixels, unclamped) is the rectangle grown by d with round corners: every
 * vertex lies at distance d from the rectangle (in map pixels), it runs counter-clockwise on screen,
 * and its area is that of the rounded rectangle, A + P·d + πd², less what the corner chords cut off
 * (each chord strays at most 0.25 px from its arc).
 */
function expectRoundedRectangle(points: Point[], g: ImageGeometry, mapWidth: number, mapHeight: number, rect: BoxXYXY, d: number) {
  const sx = g.tensor.width / mapWidth;
  const sy = g.tensor.height / mapHeight;
  const onMap = points.map(([x, y]): Point => [(x * g.transform.scaleX + g.transform.padX) / sx - 0.5, (y * g.transform.scaleY + g.transform.padY) / sy - 0.5]);
  const [x0, y0, x1, y1] = rect;
  for (const [x, y] of onMap) expect(Math.hypot(Math.max(x0 - x, 0, x - x1), Math.max(y0 - y, 0, y - y1))).toBeCloseTo(d, 9);
  const signed = onMap.reduce((sum, [x, y], i) => {
    const [nx, ny] = onMap[(i + 1) % onMap.length];
    return sum + (x * ny - nx * y) / 2;
  }, 0);
  expect(signed).toBeLessThan(0);
  const w = x1 - x0;
  const h = y1 - y0;
  const full = w * h + 2 * (w + h) * d + Math.PI * d * d;
  expect(-signed).toBeLessThanOrEqual(full);
  expect(-signed).toBeGreaterThan(full - 2 * Math.PI * d * 0.25);
}

describe('text-detect head', () => {
  // Map pixel x → original 2x + 1, y → 2y − 9 (see letterbox).
  const A = block(4, 8, 17, 11); // 14×4 pixels: 13 × 3, d = 58.5 / 32
  const B = block(20, 20, 31, 25); // 12×6 pixels: 11 × 5, d = 82.5 / 32
  const map = new ProbabilityMap(40, 40)
    // A: top row certain, the rest 0.75 → score (14 · 1 + 42 · 0.75) / 56.
    .fill(4, 8, 17, 11, 0.75)
    .fill(4, 8, 17, 8, 1)
    // B: 0.875 throughout.
    .fill(20, 20, 31, 25, 0.875)
    // Stored as float32(0.3), touching B: not above a threshold of 0.3, so B's outline and score do not change.
    .fill(32, 22, 32, 22, 0.3)
    // A 2×2 speck: 1 × 1, d = 0.375, grown to 1.75 < minSize + 2 = 5.
    .fill(2, 30, 3, 31, 1)
    // A line two pixels tall: 19 × 1, d = 0.7125, grown short side 2.425 < 5, however certain.
    .fill(20, 14, 39, 15, 1)
    // A block above the 0.3 threshold whose mean 0.5 is below boxThreshold 0.6: 9 × 5.
    .fill(24, 28, 33, 33, 0.5);

  const expected = (b: ReturnType<typeof block>, score: number) => ({ box: toOriginal(letterbox, 40, 40, b.grown), score });
  const summary = (answer: { regions: Array<{ box: BoxXYXY; score: number }> }) => answer.regions.map(({ box, score }) => ({ box, score }));

  it('keeps the two strong blocks and drops the speck, the thin line and the weak block; exact unclip and mapping', () => {
    const answer = detect(map, letterbox);
    expect(summary(answer)).toEqual([expected(A, 45.5 / 56), expected(B, 0.875)]);
    // Worked through for A: grown [2.171875, 6.171875, 18.828125, 12.828125] on the map.
    expect(answer.regions[0].box).toEqual([5.34375, 3.34375, 38.65625, 16.65625]);
    expectRoundedRectangle(answer.regions[0].points, letterbox, 40, 40, A.rect, A.d);
    expectRoundedRectangle(answer.regions[1].points, letterbox, 40, 40, B.rect, B.d);
    for (const region of answer.regions) {
      const xs = region.points.map((p) => p[0]);
      const ys = region.points.map((p) => p[1]);
      expect(region.box).toEqual([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)]);
    }
  });

  it('examines at most maxCandidates regions, the largest first, before filtering', () => {
    // Traced areas: B 55, weak block 45, A 39, line 19, speck 1.
    expect(summary(detect(map, letterbox, { maxCandidates: 1 }))).toEqual([expected(B, 0.875)]);
    expect(summary(detect(map, letterbox, { maxCandidates: 2 }))).toEqual([expected(B, 0.875)]);
    expect(summary(detect(map, letterbox, { maxCandidates: 3 }))).toEqual([expected(A, 45.5 / 56), expected(B, 0.875)]);
  });

  it('applies boxThreshold (a score equal to it is kept) and unclipRatio', () => {
    expect(summary(detect(map, letterbox, { boxThreshold: 0.875 }))).toEqual([expected(B, 0.875)]);
    expect(summary(detect(map, letterbox, { boxThreshold: 0.9 }))).toEqual([]);
    // The weak block passes once boxThreshold drops to its mean.
    expect(detect(map, letterbox, { boxThreshold: 0.5 }).regions.map((r) => r.score)).toEqual([45.5 / 56, 0.875, 0.5]);
    // Ratio 3 doubles d; A's grown top, 8 − 117/32 = 4.34375 on the map, lies in the letterbox bar: clamped to 0.
    const wide = detect(map, letterbox, { unclipRatio: 3 });
    const A3 = block(4, 8, 17, 11, 3);
    const B3 = block(20, 20, 31, 25, 3);
    expect(summary(wide)).toEqual([expected(A3, 45.5 / 56), expected(B3, 0.875)]);
    expect(wide.regions[0].box).toEqual([1.6875, 0, 42.3125, 20.3125]);
    expectRoundedRectangle(wide.regions[1].points, letterbox, 40, 40, B3.rect, B3.d);
  });

  it('drops a region whose grown box is shorter than minSize + 2 on one side (equal is kept)', () => {
    // 25×9 pixels: 24 × 8, d = 4.5; the traced box is 8 tall but the grown one 17.
    const big = block(5, 5, 29, 13);
    const only = new ProbabilityMap(40, 20).fill(5, 5, 29, 13, 1);
    expect(summary(detect(only, identity(40, 20), { minSize: 15 }))).toEqual([{ box: toOriginal(identity(40, 20), 40, 20, big.grown), score: 1 }]);
    expect(big.grown).toEqual([0.5, 0.5, 33.5, 17.5]);
    expect(detect(only, identity(40, 20), { minSize: 16 }).regions).toEqual([]);
  });

  it('joins diagonal neighbours (8-connectivity) into one region', () => {
    const diagonal = new ProbabilityMap(12, 12).fill(2, 2, 4, 4, 1).fill(5, 5, 7, 7, 1);
    // One outline through (4, 4)–(5, 5) twice: area 2 · 4, perimeter 16 + 2√2; d is irrational, hence toBeCloseTo.
    const d = (8 * 1.5) / (16 + 2 * Math.SQRT2);
    const { regions } = detect(diagonal, identity(12, 12));
    expect(regions).toHaveLength(1);
    expect(regions[0].score).toBe(1);
    const want = [2 - d + 0.5, 2 - d + 0.5, 7 + d + 0.5, 7 + d + 0.5];
    regions[0].box.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('unclips on the map, then scales a map smaller than the input up to tensor pixels', () => {
    // Map 20×10 in a 40×40 input: x × 2, y × 4. The 13×5-pixel block grows by 2.25 map pixels on every
    // side, 4.5 input pixels across but 9 down (unclipping in input pixels would grow both by the same amount).
    const g = identity(40, 40);
    const small = new ProbabilityMap(20, 10).fill(2, 2, 14, 6, 1);
    const b = block(2, 2, 14, 6);
    expect(b.grown).toEqual([-0.25, -0.25, 16.25, 8.25]);
    const { regions } = detect(small, g);
    expect(summary({ regions })).toEqual([{ box: [0.5, 1, 33.5, 35], score: 1 }]);
    expectRoundedRectangle(regions[0].points, g, 20, 10, b.rect, b.d);
  });

  it('returns several lines in reading order', () => {
    // Blocks of 10×4 pixels (9 × 3, d = 1.6875, grown height 6.375): tops within half of that form a line.
    const lines = new ProbabilityMap(60, 40)
      .fill(40, 2, 49, 5, 0.7) // line 1, right
      .fill(2, 3, 11, 6, 0.75) // line 1, left
      .fill(22, 4, 31, 7, 0.8) // line 1, middle
      .fill(30, 14, 39, 17, 0.85) // line 2, right
      .fill(5, 15, 14, 18, 0.9) // line 2, left
      .fill(2, 26, 11, 29, 0.95); // line 3
    const { regions } = detect(lines, identity(60, 40));
    expect(regions.map((r) => r.score)).toEqual([0.75, 0.8, 0.7, 0.9, 0.85, 0.95].map(Math.fround));
    const d = 1.6875;
    expect(regions[0].box).toEqual([2 - d + 0.5, 3 - d + 0.5, 11 + d + 0.5, 6 + d + 0.5]);
  });

  it('refuses other output shapes', () => {
    expect(() =>
      heads['text-detect'].run({ map: { dims: [1, 2, 2, 2], data: new Float32Array(8) } }, letterbox, heads['text-detect'].options.parse({})),
    ).toThrow('text-detect head: expected output dims [1, 1, H, W], got [1, 2, 2, 2]');
  });
});

describe('sortReadingOrder', () => {
  const item = (box: BoxXYXY) => ({ box });

  it('groups boxes whose tops are within half the median height into one line', () => {
    // Heights 10, 10, 10, 10, 10, 12: median 10, tolerance 5.
    const a = item([50, 0, 90, 10]);
    const b = item([0, 4, 40, 14]); // 4 below a: same line, further left
    const c = item([100, 5, 140, 15]); // 5 below a: still the same line
    const f = item([200, 6, 220, 16]); // 6 below a: a line of its own
    const e = item([40, 18, 60, 28]); // a new line...
    const d = item([0, 20, 30, 32]); // ...that d joins, to e's left
    expect(sortReadingOrder([c, d, e, f, a, b])).toEqual([b, a, c, f, d, e]);
  });

  it('returns a copy and handles empty and single inputs', () => {
    const only = [item([1, 2, 3, 4])];
    const sorted = sortReadingOrder(only);
    expect(sorted).toEqual(only);
    expect(sorted).not.toBe(only);
    expect(sortReadingOrder([])).toEqual([]);
  });
});
