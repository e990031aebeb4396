import { describe, expect, it } from 'vitest';
import { imageGeometry } from './helpers/geometry.js';
import { ProbabilityMap } from './helpers/probability-map.js';
import { z } from 'zod';
import { heads, type ImageGeometry, type SegmentAnswer } from '../dist/src/heads/index.js';

type Point = [number, number];
const head = heads.segment;

/**
 * A label map turned into `[1, C, H, W]` logits. At a pixel of class k, channel k scores 3 and
 * every other channel c scores c (< 3), so argmax is k and never the largest channel by accident.
 */
class LabelMap {
  readonly labels: Int32Array;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly classes: number,
  ) {
    this.labels = new Int32Array(width * height);
  }
  /** Pixels x0..x1, y0..y1 (inclusive) become class k. */
  fill(x0: number, y0: number, x1: number, y1: number, k: number): this {
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) this.labels[y * this.width + x] = k;
    return this;
  }
  get outputs() {
    const plane = this.width * this.height;
    const data = new Float32Array(this.classes * plane);
    for (let c = 0; c < this.classes; c++) {
      for (let p = 0; p < plane; p++) data[c * plane + p] = this.labels[p] === c ? 3 : c;
    }
    return { logits: { dims: [1, this.classes, this.height, this.width], data } };
  }
}

const segment = (map: LabelMap | ProbabilityMap, geometry: ImageGeometry, options: Record<string, unknown>): SegmentAnswer =>
  head.run(map.outputs, geometry, head.options.parse(options));

const identity = (width: number, height: number): ImageGeometry => imageGeometry([width, height]);

/**
 * Where a traced vertex lands in the original image, from first principles: map pixel centre i is
 * continuous map coordinate i + 0.5, times tensor/map size gives tensor pixels, then the inverse
 * of the resize (subtract the padding, divide by the scale).
 */
const mapPoint =
  (g: ImageGeometry, mapWidth: number, mapHeight: number) =>
  ([x, y]: Point): Point => [
    ((x + 0.5) * (g.tensor.width / mapWidth) - g.transform.padX) / g.transform.scaleX,
    ((y + 0.5) * (g.tensor.height / mapHeight) - g.transform.padY) / g.transform.scaleY,
  ];

/**
 * The outline of a solid block of pixels x0..x1 × y0..y1: the rectangle through the corner pixels'
 * centres, counter-clockwise on screen (down the left side first), so its area is (w − 1)(h − 1).
 */
const blockOutline = (x0: number, y0: number, x1: number, y1: number): Point[] => [
  [x0, y0],
  [x0, y1],
  [x1, y1],
  [x1, y0],
];

/** The polygon expected of a rectangle x0..x1 × y0..y1 of the original image: its corners in blockOutline's order, no holes. */
const rectangle = (label: string, [x0, y0, x1, y1]: readonly [number, number, number, number], area: number, score?: number) => ({
  label,
  ...(score === undefined ? {} : { score }),
  points: blockOutline(x0, y0, x1, y1),
  holes: [],
  area,
  bbox: [x0, y0, x1, y1],
});

/**
 * The outline of a hole of pixels x0..x1 × y0..y1 inside a solid region: it runs through the
 * foreground pixels 4-adjacent to the hole, and being 8-connected it cuts each corner diagonally,
 * clockwise on screen. Its area is (w + 1)(h + 1) − 4 · ½ for a w×h-pixel hole.
 */
const holeOutline = (x0: number, y0: number, x1: number, y1: number): Point[] => [
  [x0 - 1, y0],
  [x0, y0 - 1],
  [x1, y0 - 1],
  [x1 + 1, y0],
  [x1 + 1, y1],
  [x1, y1 + 1],
  [x0, y1 + 1],
  [x0 - 1, y1],
];

/** Σ (x_i·y_{i+1} − x_{i+1}·y_i) / 2: negative for counter-clockwise on screen (y down). */
const signedArea = (ring: readonly Point[]) =>
  ring.reduce((s, [x, y], i) => {
    const [nx, ny] = ring[(i + 1) % ring.length];
    return s + (x * ny - nx * y) / 2;
  }, 0);

/**
 * The ring rotated to start at its topmost-leftmost vertex: where a tracer starts a ring is not
 * part of the contract, its vertices and their cyclic order (hence orientation) are.
 */
function fromTopLeft(ring: readonly Point[]): Point[] {
  let start = 0;
  ring.forEach(([x, y], i) => {
    const [sx, sy] = ring[start];
    if (y < sy || (y === sy && x < sx)) start = i;
  });
  return [...ring.slice(start), ...ring.slice(0, start)];
}

/** A polygon with its rings normalised by fromTopLeft, for exact comparison. */
const normalised = (answer: SegmentAnswer) => answer.polygons.map((p) => ({ ...p, points: fromTopLeft(p.points), holes: p.holes.map(fromTopLeft) }));

describe('segment head: per-class logits (argmax)', () => {
  const labels = ['background', 'car', 'person'];

  it('traces one polygon per connected region of each class, labelled by channel, largest first', () => {
    const map = new LabelMap(16, 12, 3)
      .fill(1, 1, 4, 3, 1) // car, 4×3 pixels: area 3 · 2 = 6
      .fill(5, 1, 11, 5, 2) // person, 7×5 pixels, touching the first car: area 6 · 4 = 24
      .fill(10, 8, 14, 10, 1); // another car, 5×3 pixels: area 4 · 2 = 8
    const answer = segment(map, identity(16, 12), { labels });
    const at = mapPoint(identity(16, 12), 16, 12);
    const polygon = (label: string, x0: number, y0: number, x1: number, y1: number) => {
      const points = blockOutline(x0, y0, x1, y1).map(at);
      return { label, points, holes: [], area: (x1 - x0) * (y1 - y0), bbox: [x0 + 0.5, y0 + 0.5, x1 + 0.5, y1 + 0.5] };
    };
    // No score key: only probability maps have one.
    expect(normalised(answer)).toStrictEqual([polygon('person', 5, 1, 11, 5), polygon('car', 10, 8, 14, 10), polygon('car', 1, 1, 4, 3)]);
    for (const p of answer.polygons) expect(signedArea(p.points)).toBeLessThan(0);
  });

  it('gives a pixel whose top logits tie to the lower channel', () => {
    const plane = 9;
    const data = new Float32Array(3 * plane);
    // The centre pixel of a 3×3 map: car and person both score 5, background 0.
    data[1 * plane + 4] = 5;
    data[2 * plane + 4] = 5;
    const answer = head.run({ logits: { dims: [1, 3, 3, 3], data } }, identity(3, 3), head.options.parse({ labels }));
    expect(answer).toStrictEqual({ polygons: [{ label: 'car', points: [[1.5, 1.5]], holes: [], area: 0, bbox: [1.5, 1.5, 1.5, 1.5] }] });
  });

  it('maps a ring and its hole through a letterbox, area = outer − hole in original pixels²', () => {
    // 40×20 photo letterboxed into 20×20: scale 0.5, content 20×10, 5 rows of padding above and below.
    const g = imageGeometry([40, 20], [20, 20], { scaleX: 0.5, scaleY: 0.5, padY: 5 });
    const map = new LabelMap(20, 20, 2).fill(2, 6, 11, 13, 1).fill(5, 8, 7, 10, 0);
    const [ring, ...rest] = normalised(segment(map, g, { labels: ['background', 'part'] }));
    expect(rest).toEqual([]);
    const at = mapPoint(g, 20, 20); // x → 2x + 1, y → 2y − 9
    // Outer: 9 × 7 map pixels² → 18 × 14 original; hole: 3×3 pixels → (4 · 4 − 2) · 4 = 56.
    const outer = blockOutline(2, 6, 11, 13).map(at);
    const hole = fromTopLeft(holeOutline(5, 8, 7, 10).map(at));
    expect(outer).toEqual([
      [5, 3],
      [5, 17],
      [23, 17],
      [23, 3],
    ]);
    expect(ring).toStrictEqual({ label: 'part', points: outer, holes: [hole], area: 18 * 14 - 56, bbox: [5, 3, 23, 17] });
    expect(signedArea(hole)).toBe(56); // clockwise on screen
  });

  it('maps a map smaller than the tensor up to tensor pixels before undoing the letterbox', () => {
    // 40×16 photo in a 40×32 input (scale 1, 8 rows of padding top and bottom); the map is 10×8, a quarter of the input.
    const g = imageGeometry([40, 16], [40, 32], { padY: 8 });
    const map = new LabelMap(10, 8, 2).fill(2, 3, 5, 5, 1);
    // x → (x + 0.5) · 4, y → (y + 0.5) · 4 − 8: corners (2, 3) → (10, 6) and (5, 5) → (22, 14).
    expect(normalised(segment(map, g, { labels: ['background', 'part'] }))).toStrictEqual([rectangle('part', [10, 6, 22, 14], 12 * 8)]);
  });

  it('clamps a region that reaches into the padding, measures what is left, and drops regions wholly in the padding', () => {
    // 40×80 photo letterboxed into 20×20: scale 0.25, content 10×20 at columns 5..14; x → 4x − 18, y → 4y + 2.
    const g = imageGeometry([40, 80], [20, 20], { scaleX: 0.25, scaleY: 0.25, padX: 5 });
    const map = new LabelMap(20, 20, 2)
      .fill(3, 2, 9, 6, 1) // from the left padding into the content: x −6 → clamped to 0
      .fill(10, 14, 13, 17, 1) // inside the content
      .fill(0, 10, 2, 12, 1) // left padding only (x ≤ −10)
      .fill(16, 10, 18, 12, 1); // right padding only (x ≥ 46 > 40)
    expect(normalised(segment(map, g, { labels: ['background', 'part'] }))).toStrictEqual([
      // Unclamped it would span x −6..18 (area 24 · 16 = 384); the returned polygon covers 18 · 16.
      rectangle('part', [0, 10, 18, 26], 288),
      rectangle('part', [22, 58, 34, 70], 144),
    ]);
  });

  describe('minArea and maxPolygons', () => {
    // Original 2× the map (stretch, scale 0.5): areas in the answer are 4× the map areas.
    const g = imageGeometry([40, 40], [20, 20], { scaleX: 0.5, scaleY: 0.5 });
    const map = new LabelMap(20, 20, 3)
      .fill(1, 1, 5, 4, 1) // car: 4 · 3 = 12 map px²
      .fill(8, 1, 11, 3, 1) // car: 3 · 2 = 6
      .fill(14, 1, 16, 2, 1) // car: 2 · 1 = 2
      .fill(1, 8, 6, 12, 2) // person: 5 · 4 = 20
      .fill(10, 8, 10, 10, 2); // person, one pixel wide: 0
    const summary = (options: Record<string, unknown>) => segment(map, g, { labels, ...options }).polygons.map((p) => `${p.label} ${p.area}`);

    it('keeps everything by default, largest first across labels', () => {
      expect(summary({})).toEqual(['person 80', 'car 48', 'car 24', 'car 8', 'person 0']);
    });

    it('drops regions under minArea, measured in map pixels² (equal is kept)', () => {
      expect(summary({ minArea: 6 })).toEqual(['person 80', 'car 48', 'car 24']);
      expect(summary({ minArea: 6.5 })).toEqual(['person 80', 'car 48']);
    });

    it('keeps the maxPolygons largest regions of each label', () => {
      expect(summary({ maxPolygons: 1 })).toEqual(['person 80', 'car 48']);
      expect(summary({ maxPolygons: 2, minArea: 1 })).toEqual(['person 80', 'car 48', 'car 24']);
    });
  });

  it('passes the simplification tolerance on (epsilon in map pixels, or a fraction of the perimeter)', () => {
    // A staircase: row y (1..8) holds pixels 1..1 + ⌊(y − 1)/2⌋. Every step corner is a vertex of the
    // exact outline, and none is farther than 3/√58 ≈ 0.39 from the hypotenuse (1, 1)–(4, 8).
    const map = new LabelMap(12, 12, 2);
    for (let y = 1; y <= 8; y++) map.fill(1, y, 1 + Math.floor((y - 1) / 2), y, 1);
    const outline = (options: Record<string, unknown>) =>
      fromTopLeft(segment(map, identity(12, 12), { labels: ['bg', 'stairs'], ...options }).polygons[0].points);
    expect(outline({})).toHaveLength(9);
    const triangle = [
      [1.5, 1.5],
      [1.5, 8.5],
      [4.5, 8.5],
    ];
    expect(outline({ epsilon: 1 })).toEqual(triangle);
    expect(outline({ epsilonRatio: 0.05 })).toEqual(triangle);
  });

  it('refuses a label count that does not match the channels, and other shapes', () => {
    const map = new LabelMap(4, 4, 3);
    expect(() => segment(map, identity(4, 4), { labels: ['background', 'car'] })).toThrow(
      expect.objectContaining({ status: 500, code: 'model_output_mismatch', message: 'segment head: model has 3 classes but 2 labels are configured' }),
    );
    expect(() => head.run({ x: { dims: [1, 2, 4], data: new Float32Array(8) } }, identity(4, 4), head.options.parse({ labels }))).toThrow(
      'segment head: expected output dims [1, C, H, W], got [1, 2, 4]',
    );
    expect(() => segment(map, identity(4, 4), { labels, mode: 'probability' })).toThrow('segment head: probability mode needs one channel, got 3');
  });
});

describe('segment head: probability map', () => {
  // 24×40 photo stretched to a 12×10 input: scaleX 0.5, scaleY 0.25; x → 2x + 1, y → 4y + 2, areas × 8.
  const g = imageGeometry([24, 40], [12, 10], { scaleX: 0.5, scaleY: 0.25 });
  const map = new ProbabilityMap(12, 10)
    .fill(2, 2, 7, 5, 0.75)
    .fill(2, 2, 7, 2, 1) // the top row is certain: score (6 · 1 + 18 · 0.75) / 24
    .fill(8, 3, 8, 3, 0.5) // exactly at the threshold, touching: background, so neither outline nor score change
    .fill(9, 7, 10, 8, 0.625);

  it('thresholds (p > threshold), scores each region by its mean probability, labels it with the last label', () => {
    const answer = segment(map, g, { labels: ['background', 'crack'] });
    expect(normalised(answer)).toStrictEqual([rectangle('crack', [5, 10, 15, 22], 5 * 3 * 8, 19.5 / 24), rectangle('crack', [19, 30, 21, 34], 8, 0.625)]);
    // A single label names the foreground as well.
    expect(segment(map, g, { labels: ['crack'] }).polygons.map((p) => p.label)).toEqual(['crack', 'crack']);
  });

  it('applies the threshold option: only the certain row remains, a one-pixel-tall region of area 0', () => {
    expect(segment(map, g, { labels: ['background', 'crack'], threshold: 0.8 })).toStrictEqual({
      polygons: [
        {
          label: 'crack',
          score: 1,
          points: [
            [5, 10],
            [15, 10],
          ],
          holes: [],
          area: 0,
          bbox: [5, 10, 15, 10],
        },
      ],
    });
  });

  it('compares the threshold at the float32 precision of the map: a pixel stored as the threshold is not above it', () => {
    // float32(0.7) ≈ 0.69999999 < 0.7 but float32(0.3) ≈ 0.30000001 > 0.3: both must read as equal.
    for (const t of [0.7, 0.3]) {
      const level = new ProbabilityMap(4, 4).fill(1, 1, 2, 2, t);
      expect(segment(level, identity(4, 4), { labels: ['x'], threshold: t }).polygons).toEqual([]);
      expect(segment(level, identity(4, 4), { labels: ['x'], threshold: t - 0.01 }).polygons.map((p) => p.bbox)).toEqual([[1.5, 1.5, 2.5, 2.5]]);
    }
  });

  it('refuses more than [background, foreground] labels for a one-channel map', () => {
    expect(() => segment(map, g, { labels: ['background', 'crack', 'dent'] })).toThrow(
      'segment head: a probability map has one class but 3 labels are configured (want [foreground] or [background, foreground])',
    );
  });
});

describe('segment head options', () => {
  it('fill in defaults', () => {
    expect(head.options.parse({ labels: ['a'] })).toEqual({ labels: ['a'], mode: 'auto', threshold: 0.5, background: 0, minArea: 0, maxPolygons: 100 });
  });

  it('name the offending field in every issue', () => {
    const result = head.options.safeParse({
      labels: ['a', 'a'],
      mode: 'maybe',
      threshold: 1.5,
      background: -1,
      epsilonRatio: 0,
      minArea: -1,
      maxPolygons: 0,
      colour: 'red',
    });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => ({ path: i.path, code: i.code }))).toEqual([
      { path: ['labels', 1], code: 'custom' },
      { path: ['mode'], code: 'invalid_value' },
      { path: ['threshold'], code: 'too_big' },
      { path: ['background'], code: 'too_small' },
      { path: ['epsilonRatio'], code: 'too_small' },
      { path: ['minArea'], code: 'too_small' },
      { path: ['maxPolygons'], code: 'too_small' },
      { path: [], code: 'unrecognized_keys' },
    ]);
    expect(z.prettifyError(result.error!)).toContain('duplicate label "a"\n  → at labels[1]');
    expect(head.options.safeParse({}).error!.issues.map((i) => i.path)).toEqual([['labels']]);
  });
});
