import { describe, expect, it } from 'vitest';

import { findPolygonsAsync, type PolygonInput, type PolygonOptions, type Region } from '../dist/src/polygons/index.js';
import { loadNativeAddon } from '../dist/src/polygons/native-addon.js';
import { findPolygonsPacked } from '../dist/src/polygons/reference.js';
import { findPolygonsPackedAsync } from '../dist/src/polygons/reference-async.js';
import { unpackRegions } from '../dist/src/polygons/unpack.js';
import { blobMask, labelMap, mixedCase, nestedRingMask, noiseMask, probabilityMap, random } from './helpers/masks.js';

const native = loadNativeAddon().addon!;
const viaNative = (input: PolygonInput, options?: PolygonOptions) => unpackRegions(native.findPolygons(input, options));
const viaTypescript = (input: PolygonInput, options?: PolygonOptions) => unpackRegions(findPolygonsPacked(input, options));

const mask = (data: Uint8Array, width: number, height: number): PolygonInput => ({ kind: 'mask', data, width, height });

/** Pixels of the 8-connected foreground component containing (x, y), in no particular order. */
function componentPixels(isForeground: (i: number) => boolean, width: number, height: number, x: number, y: number): number[] {
  const seen = new Uint8Array(width * height);
  const stack = [y * width + x];
  seen[y * width + x] = 1;
  const pixels: number[] = [];
  while (stack.length > 0) {
    const p = stack.pop()!;
    pixels.push(p);
    const px = p % width,
      py = (p - px) / width;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const qx = px + dx,
          qy = py + dy;
        if (qx < 0 || qy < 0 || qx >= width || qy >= height) continue;
        const q = qy * width + qx;
        if (!seen[q] && isForeground(q)) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
  }
  return pixels;
}

/** Length of a closed ring in 8-neighbour steps (each simplified segment is a straight run of steps). */
function chainSteps(ring: ArrayLike<number>): number {
  const n = ring.length / 2;
  let steps = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    steps += Math.max(Math.abs(ring[2 * j] - ring[2 * i]), Math.abs(ring[2 * j + 1] - ring[2 * i + 1]));
  }
  return steps;
}

function distanceToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax,
    dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function distanceToRing(px: number, py: number, ring: ArrayLike<number>): number {
  const n = ring.length / 2;
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    best = Math.min(best, distanceToSegment(px, py, ring[2 * i], ring[2 * i + 1], ring[2 * j], ring[2 * j + 1]));
  }
  return best;
}

function insideRing(px: number, py: number, ring: ArrayLike<number>): boolean {
  const n = ring.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = ring[2 * i],
      yi = ring[2 * i + 1],
      xj = ring[2 * j],
      yj = ring[2 * j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function selfIntersects(ring: ArrayLike<number>): boolean {
  const n = ring.length / 2;
  const cross = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  for (let i = 0; i < n; i++) {
    const [ax, ay, bx, by] = [ring[2 * i], ring[2 * i + 1], ring[2 * ((i + 1) % n)], ring[2 * ((i + 1) % n) + 1]];
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      const [cx, cy, dx, dy] = [ring[2 * j], ring[2 * j + 1], ring[2 * ((j + 1) % n)], ring[2 * ((j + 1) % n) + 1]];
      const d1 = cross(ax, ay, bx, by, cx, cy),
        d2 = cross(ax, ay, bx, by, dx, dy);
      const d3 = cross(cx, cy, dx, dy, ax, ay),
        d4 = cross(cx, cy, dx, dy, bx, by);
      if (d1 * d2 < 0 && d3 * d4 < 0) return true;
    }
  }
  return false;
}

/** No two non-adjacent edges meet, not even by touching, and no vertex repeats. */
function isSimple(ring: ArrayLike<number>): boolean {
  const n = ring.length / 2;
  if (n < 3) return false;
  const orient = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) => Math.sign((bx - ax) * (cy - ay) - (by - ay) * (cx - ax));
  const onSegment = (ax: number, ay: number, bx: number, by: number, cx: number, cy: number) =>
    Math.min(ax, bx) <= cx && cx <= Math.max(ax, bx) && Math.min(ay, by) <= cy && cy <= Math.max(ay, by);
  for (let i = 0; i < n; i++) {
    const [ax, ay, bx, by] = [ring[2 * i], ring[2 * i + 1], ring[2 * ((i + 1) % n)], ring[2 * ((i + 1) % n) + 1]];
    for (let j = i + 1; j < n; j++) {
      const [cx, cy, dx, dy] = [ring[2 * j], ring[2 * j + 1], ring[2 * ((j + 1) % n)], ring[2 * ((j + 1) % n) + 1]];
      if (j === i + 1 || (i === 0 && j === n - 1)) {
        if (ax === dx && ay === dy && n > 3 && j === i + 1) return false; // a spike back onto itself
        continue;
      }
      const o1 = orient(ax, ay, bx, by, cx, cy),
        o2 = orient(ax, ay, bx, by, dx, dy);
      const o3 = orient(cx, cy, dx, dy, ax, ay),
        o4 = orient(cx, cy, dx, dy, bx, by);
      if (o1 !== o2 && o3 !== o4) return false;
      if ((o1 === 0 && onSegment(ax, ay, bx, by, cx, cy)) || (o2 === 0 && onSegment(ax, ay, bx, by, dx, dy))) return false;
      if ((o3 === 0 && onSegment(cx, cy, dx, dy, ax, ay)) || (o4 === 0 && onSegment(cx, cy, dx, dy, bx, by))) return false;
    }
  }
  return true;
}

const startKey = (ring: ArrayLike<number>) => `${ring[0]},${ring[1]}`;

describe('addon and TypeScript implementation agree exactly', () => {
  const optionSets: PolygonOptions[] = [
    {},
    { epsilon: 1.5 },
    { epsilonRatio: 0.01 },
    { minArea: 4, maxPolygons: 3 },
    { epsilonRatio: 0.002, unclipRatio: 1.5 },
    { unclipRatio: 2 },
  ];

  it('on 300 seeded masks × 6 option sets', () => {
    for (let seed = 0; seed < 300; seed++) {
      const c = mixedCase(seed);
      const options = optionSets[seed % optionSets.length];
      const input = mask(c.data, c.width, c.height);
      expect(native.findPolygons(input, options), `${c.name} ${JSON.stringify(options)}`).toEqual(findPolygonsPacked(input, options));
    }
  });

  it('on probability maps and label maps (Uint8Array and Int32Array)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const [w, h] = [40 + seed * 7, 30 + seed * 5];
      const options = optionSets[seed % optionSets.length];
      const probability: PolygonInput = { kind: 'probability', data: probabilityMap(w, h, seed), width: w, height: h, threshold: 0.3 + seed / 40 };
      expect(native.findPolygons(probability, options)).toEqual(findPolygonsPacked(probability, options));
      const labels8: PolygonInput = { kind: 'labels', data: labelMap(w, h, 5, seed), width: w, height: h, background: seed % 3 };
      expect(native.findPolygons(labels8, options)).toEqual(findPolygonsPacked(labels8, options));
      const labels32: PolygonInput = { kind: 'labels', data: Int32Array.from(labelMap(w, h, 5, seed), (v) => v * 1000 - 2000), width: w, height: h };
      expect(native.findPolygons(labels32, options)).toEqual(findPolygonsPacked(labels32, options));
    }
  });

  it('on 512² blobs and noise with PaddleOCR-style options', () => {
    const options = { epsilonRatio: 0.002, unclipRatio: 1.5, minArea: 3 };
    for (const data of [blobMask(512, 512, 30, 5), noiseMask(512, 512, 0.2, 6), nestedRingMask(512, 512, 20, 7)]) {
      expect(native.findPolygons(mask(data, 512, 512), options)).toEqual(findPolygonsPacked(mask(data, 512, 512), options));
    }
  });

  it('async variants resolve to the sync results', async () => {
    const c = mixedCase(9);
    const input = mask(c.data, c.width, c.height);
    const expected = findPolygonsPacked(input, { epsilon: 1 });
    expect(await native.findPolygonsAsync(input, { epsilon: 1 })).toEqual(expected);
    expect(await findPolygonsPackedAsync(input, { epsilon: 1 })).toEqual(expected);
    expect(await findPolygonsAsync(input, { epsilon: 1 })).toEqual(unpackRegions(expected));
  });
});

describe('areas', () => {
  it('a solid w×h block has area (w − 1)(h − 1) and bbox [x, y, x + w − 1, y + h − 1]', () => {
    const rand = random(42);
    for (let k = 0; k < 50; k++) {
      const [W, H] = [20, 15];
      const w = 1 + Math.floor(rand() * 12),
        h = 1 + Math.floor(rand() * 10);
      const x = Math.floor(rand() * (W - w + 1)),
        y = Math.floor(rand() * (H - h + 1));
      const data = new Uint8Array(W * H);
      for (let yy = y; yy < y + h; yy++) data.fill(1, yy * W + x, yy * W + x + w);
      for (const run of [viaNative, viaTypescript]) {
        const regions = run(mask(data, W, H));
        expect(regions).toHaveLength(1);
        expect(regions[0].area).toBe((w - 1) * (h - 1));
        expect(regions[0].bbox).toEqual([x, y, x + w - 1, y + h - 1]);
        expect(regions[0].holes).toEqual([]);
      }
    }
  });

  it('a w×h block with an a×b hole has area (w − 1)(h − 1) − ((a + 1)(b + 1) − 2)', () => {
    // The hole's ring runs through the pixel centres around the hole and cuts its four corners
    // diagonally (the background is 4-connected): a rectangle (a + 1) × (b + 1) less four half pixels.
    for (const [w, h, a, b] of [
      [3, 3, 1, 1],
      [5, 4, 2, 1],
      [10, 8, 3, 4],
      [7, 7, 5, 5],
    ] as const) {
      const data = new Uint8Array(w * h).fill(1);
      for (let y = 1; y <= b; y++) data.fill(0, y * w + 1, y * w + 1 + a);
      for (const run of [viaNative, viaTypescript]) {
        const [region] = run(mask(data, w, h));
        expect(region.holes).toHaveLength(1);
        expect(region.area).toBe((w - 1) * (h - 1) - ((a + 1) * (b + 1) - 2));
      }
    }
  });

  it('Pick: area = pixels − steps / 2 + holes − 1 for every region of 300 seeded masks', () => {
    // With pixel-centre rings, a region of N pixels whose rings total S neighbour steps and which
    // has h holes has shoelace area N − S/2 + h − 1 (Pick's theorem; one-pixel-wide parts add
    // pixels and steps in the ratio that leaves the area unchanged).
    let regions = 0;
    for (let seed = 0; seed < 300; seed++) {
      const c = mixedCase(seed);
      for (const r of viaNative(mask(c.data, c.width, c.height))) {
        const pixels = componentPixels((i) => c.data[i] !== 0, c.width, c.height, r.outer[0], r.outer[1]).length;
        const steps = chainSteps(r.outer) + r.holes.reduce((sum, hole) => sum + chainSteps(hole), 0);
        expect(r.area, c.name).toBe(pixels - steps / 2 + r.holes.length - 1);
        regions++;
      }
    }
    expect(regions).toBeGreaterThan(500);
  });

  it('single pixels and one-pixel lines have area 0', () => {
    const data = new Uint8Array(10 * 5);
    data[0] = 1; // lone pixel
    data.fill(1, 2 * 10 + 2, 2 * 10 + 9); // horizontal line of 7
    const regions = viaNative(mask(data, 10, 5));
    expect(regions.map((r) => [Array.from(r.outer), r.area, r.bbox])).toEqual([
      [[0, 0], 0, [0, 0, 0, 0]],
      [[2, 2, 8, 2], 0, [2, 2, 8, 2]],
    ]);
  });
});

describe('simplification', () => {
  it('keeps every traced point within epsilon of the simplified ring, using only traced points', () => {
    for (let seed = 0; seed < 120; seed++) {
      const c = mixedCase(seed);
      const epsilon = [0.5, 1, 2.5, 7][seed % 4];
      const input = mask(c.data, c.width, c.height);
      // Douglas–Peucker keeps each ring's first point, and outer rings of different regions never
      // start at the same pixel, so regions pair up by their outer ring's first point.
      const original = new Map<string, Region>();
      for (const r of viaNative(input)) original.set(startKey(r.outer), r);
      for (const run of [viaNative, viaTypescript]) {
        for (const r of run(input, { epsilon })) {
          const source = original.get(startKey(r.outer))!;
          const sourceRings = [source.outer, ...source.holes];
          for (const [index, ring] of [r.outer, ...r.holes].entries()) {
            const traced = sourceRings[index];
            expect(startKey(ring)).toBe(startKey(traced));
            const tracedPoints = new Set<string>();
            for (let i = 0; i < traced.length; i += 2) tracedPoints.add(`${traced[i]},${traced[i + 1]}`);
            for (let i = 0; i < ring.length; i += 2) expect(tracedPoints.has(`${ring[i]},${ring[i + 1]}`)).toBe(true);
            for (let i = 0; i < traced.length; i += 2) {
              expect(distanceToRing(traced[i], traced[i + 1], ring), c.name).toBeLessThanOrEqual(epsilon + 1e-9);
            }
          }
        }
      }
    }
  });

  it('reduces a staircase diagonal to its corners, and epsilonRatio scales with the perimeter', () => {
    // A right triangle of pixels: its hypotenuse is a staircase of 1-pixel steps.
    const n = 40;
    const data = new Uint8Array(n * n);
    for (let y = 0; y < n; y++) data.fill(1, y * n, y * n + Math.floor(y / 2) + 1);
    const [traced] = viaNative(mask(data, n, n));
    expect(traced.outer.length / 2).toBeGreaterThan(20);
    const [simplified] = viaNative(mask(data, n, n), { epsilon: 1 });
    expect(Array.from(simplified.outer)).toEqual([0, 0, 0, 39, 19, 39]);
    const [relative] = viaNative(mask(data, n, n), { epsilonRatio: 0.01 }); // ≈ 1.0 px here
    expect(Array.from(relative.outer)).toEqual([0, 0, 0, 39, 19, 39]);
  });
});

describe('probability maps', () => {
  it("score is the mean probability over the region's pixels; rings match the thresholded mask", () => {
    for (let seed = 1; seed <= 8; seed++) {
      const [w, h] = [64 + seed, 48 + 2 * seed];
      const p = probabilityMap(w, h, seed);
      const threshold = 0.25 + seed * 0.06;
      const regions = viaNative({ kind: 'probability', data: p, width: w, height: h, threshold });
      const binary = Uint8Array.from(p, (v) => (v > threshold ? 1 : 0));
      const fromMask = viaNative(mask(binary, w, h));
      expect(regions.map((r) => [r.outer, r.holes, r.area, r.bbox])).toEqual(fromMask.map((r) => [r.outer, r.holes, r.area, r.bbox]));
      expect(regions.length).toBeGreaterThan(0);
      for (const r of regions) {
        const pixels = componentPixels((i) => p[i] > threshold, w, h, r.outer[0], r.outer[1]);
        const mean = pixels.reduce((sum, i) => sum + p[i], 0) / pixels.length;
        expect(Math.abs(r.score! - mean)).toBeLessThan(1e-12);
        expect(r.score!).toBeGreaterThan(threshold);
      }
      expect(fromMask.every((r) => r.score === undefined)).toBe(true);
    }
  });

  it('a uniform block reports that probability exactly', () => {
    const p = new Float32Array(6 * 4);
    for (let y = 1; y <= 2; y++) p.fill(0.75, y * 6 + 1, y * 6 + 5);
    expect(viaNative({ kind: 'probability', data: p, width: 6, height: 4 })).toEqual([
      { label: 1, outer: Float64Array.from([1, 1, 1, 2, 4, 2, 4, 1]), holes: [], area: 3, bbox: [1, 1, 4, 2], score: 0.75 },
    ]);
  });
});

describe('label maps', () => {
  it('each label gives the regions of its own binary mask, labels ascending', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const [w, h] = [50 + seed * 3, 40 + seed];
      const labels = labelMap(w, h, 6, seed);
      const regions = viaNative({ kind: 'labels', data: labels, width: w, height: h });
      const present = [...new Set(labels)].filter((v) => v !== 0).sort((a, b) => a - b);
      expect([...new Set(regions.map((r) => r.label))]).toEqual(present);
      for (const label of present) {
        const own = viaNative(
          mask(
            Uint8Array.from(labels, (v) => (v === label ? 1 : 0)),
            w,
            h,
          ),
        );
        expect(regions.filter((r) => r.label === label)).toEqual(own.map((r) => ({ ...r, label })));
      }
    }
  });

  it('Int32Array labels (negative, large) and a chosen background', () => {
    const data = Int32Array.from([7, 7, 0, -3, 7, 0, 0, -3, 0, 0, 2147483647, 0]);
    const regions = viaNative({ kind: 'labels', data, width: 4, height: 3, background: 7 });
    expect(regions.map((r) => [r.label, Array.from(r.outer)])).toEqual([
      [-3, [3, 0, 3, 1]],
      // 0 is a label like any other once 7 is background; (3, 2) joins it diagonally.
      [0, [2, 0, 0, 2, 1, 2, 2, 1, 3, 2, 2, 1]],
      [2147483647, [2, 2]],
    ]);
  });
});

describe('minArea and maxPolygons', () => {
  it('drop small regions and keep the largest first, per label', () => {
    for (let seed = 0; seed < 40; seed++) {
      const c = mixedCase(seed);
      const input = mask(c.data, c.width, c.height);
      const all = viaNative(input);
      for (let i = 1; i < all.length; i++) expect(all[i - 1].area).toBeGreaterThanOrEqual(all[i].area);
      expect(viaNative(input, { minArea: 6 })).toEqual(all.filter((r) => r.area >= 6));
      expect(viaNative(input, { maxPolygons: 2 })).toEqual(all.slice(0, 2));
    }
    const labels = labelMap(60, 60, 4, 3);
    const limited = viaNative({ kind: 'labels', data: labels, width: 60, height: 60 }, { maxPolygons: 1 });
    expect(limited.map((r) => r.label)).toEqual([...new Set(labels)].filter((v) => v !== 0).sort());
  });
});

describe('unclip', () => {
  /** Checks grown rings against their sources; returns how many simple sources were checked. */
  const unclipped = (regions: Region[], traced: Region[], ratio: number): number => {
    // Filtering and ordering happen before the growth, so regions pair up by position.
    expect(regions).toHaveLength(traced.length);
    let checked = 0;
    for (const [index, r] of regions.entries()) {
      const ring = traced[index].outer;
      expect(r.holes).toEqual([]);
      expect(selfIntersects(r.outer)).toBe(false);
      // Only a simple ring has an outside everywhere; Douglas–Peucker can make thin shapes touch
      // or cross themselves, and those are grown without the distance guarantee.
      if (!isSimple(ring)) continue;
      let area2 = 0;
      let length = 0;
      for (let i = 0; i < ring.length; i += 2) {
        const j = (i + 2) % ring.length;
        area2 += ring[i] * ring[j + 1] - ring[j] * ring[i + 1];
        length += Math.hypot(ring[j] - ring[i], ring[j + 1] - ring[i + 1]);
      }
      const distance = ((Math.abs(area2) / 2) * ratio) / length;
      if (!(distance > 0)) {
        expect(r.outer).toEqual(ring); // nothing to grow: lines and single pixels stay as they are
        continue;
      }
      checked++;
      for (let i = 0; i < r.outer.length; i += 2) {
        const d = distanceToRing(r.outer[i], r.outer[i + 1], ring);
        // Arc chords may cut inside the true offset by the arc tolerance, 0.25 px.
        expect(d).toBeGreaterThanOrEqual(distance - 0.25 - 1e-9);
        expect(d).toBeLessThanOrEqual(distance + 1e-9);
        expect(insideRing(r.outer[i], r.outer[i + 1], ring)).toBe(false);
      }
      for (let i = 0; i < ring.length; i += 2) expect(insideRing(ring[i], ring[i + 1], r.outer)).toBe(true);
    }
    return checked;
  };

  it('grows a rectangle by area × ratio / perimeter with round corners', () => {
    // 11×6 pixels: pixel-centre rectangle 10 × 5, area 50, perimeter 30; ratio 1.5 → distance 2.5.
    const data = new Uint8Array(20 * 12);
    for (let y = 3; y < 9; y++) data.fill(1, y * 20 + 4, y * 20 + 15);
    for (const run of [viaNative, viaTypescript]) {
      const [r] = run(mask(data, 20, 12), { unclipRatio: 1.5 });
      expect(r.bbox).toEqual([1.5, 0.5, 16.5, 10.5]);
      // Exact offset area 50 + 30·2.5 + π·2.5² ≈ 144.63; the arcs are polygons inscribed within 0.25 px.
      expect(r.area).toBeGreaterThan(144.63 - 30 * 0.25);
      expect(r.area).toBeLessThan(144.64);
    }
    expect(unclipped(viaNative(mask(data, 20, 12), { unclipRatio: 1.5 }), viaNative(mask(data, 20, 12)), 1.5)).toBe(1);
  });

  it('keeps grown rings simple, outside the original and about the distance away, on blobs and rings', () => {
    let checked = 0;
    for (let seed = 0; seed < 30; seed++) {
      const data = seed % 2 === 0 ? blobMask(80, 60, 6, seed) : nestedRingMask(80, 60, 4, seed);
      for (const options of [{ epsilonRatio: 0.002 }, { epsilon: 1.5 }, {}]) {
        const traced = viaNative(mask(data, 80, 60), options);
        checked += unclipped(viaNative(mask(data, 80, 60), { ...options, unclipRatio: 1.5 }), traced, 1.5);
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('fills the gap of a U whose arms come closer than twice the distance', () => {
    const w = 30,
      h = 30;
    const data = new Uint8Array(w * h);
    for (let y = 5; y < 25; y++) {
      data.fill(1, y * w + 5, y * w + 12);
      data.fill(1, y * w + 14, y * w + 21);
    }
    for (let y = 21; y < 25; y++) data.fill(1, y * w + 5, y * w + 21);
    const [r] = viaNative(mask(data, w, h), { unclipRatio: 1.5 });
    expect(selfIntersects(r.outer)).toBe(false);
    for (let y = 6; y < 21; y++) expect(insideRing(12.5, y, r.outer)).toBe(true); // the 2-pixel slot is covered
    expect(viaTypescript(mask(data, w, h), { unclipRatio: 1.5 })).toEqual([r]);
  });
});
