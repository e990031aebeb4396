import { createRequire } from 'node:module';

import type * as OpenCv from '@techstark/opencv-js';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadNativeAddon } from '../dist/src/polygons/native-addon.js';
import { findPolygonsPacked } from '../dist/src/polygons/reference.js';
import { unpackRegions } from '../dist/src/polygons/unpack.js';
import type { PolygonInput } from '../dist/src/polygons/types.js';
import { blobMask, checkerMask, lineMask, type MaskCase, mixedCase, nestedRingMask, noiseMask, rectangleMask } from './helpers/masks.js';

// opencv.js (OpenCV 4.10 compiled to WebAssembly) is the oracle: findContours with RETR_CCOMP and
// CHAIN_APPROX_SIMPLE must give the same rings, point for point, and the same outer/hole grouping.

type Cv = typeof OpenCv;
let cv: Cv;

beforeAll(async () => {
  const module = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
  // The module object is thenable; awaiting it directly would loop, so wait for the runtime hook.
  await new Promise<void>((resolve) => {
    if (module.Mat) resolve();
    else module.onRuntimeInitialized = () => resolve();
  });
  cv = module;
});

/** Rotation of a ring that starts at its lexicographically smallest point sequence. */
function canonicalRing(ring: ArrayLike<number>): string {
  const n = ring.length / 2;
  let best: number[] | null = null;
  for (let s = 0; s < n; s++) {
    if (best !== null && (ring[2 * s + 1] > best[1] || (ring[2 * s + 1] === best[1] && ring[2 * s] > best[0]))) continue;
    const candidate: number[] = [];
    for (let i = 0; i < n; i++) candidate.push(ring[2 * ((s + i) % n)], ring[2 * ((s + i) % n) + 1]);
    if (best === null || compareSequence(candidate, best) < 0) best = candidate;
  }
  return (best ?? []).join(',');
}

/** Orders by y then x point by point. */
function compareSequence(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i += 2) {
    if (a[i + 1] !== b[i + 1]) return a[i + 1] - b[i + 1];
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

/** Regions as sorted strings "outer | hole; hole; …", order-independent. */
function structureOf(regions: { outer: ArrayLike<number>; holes: ArrayLike<number>[] }[]): string[] {
  return regions.map((r) => `${canonicalRing(r.outer)} | ${r.holes.map(canonicalRing).sort().join('; ')}`).sort();
}

function opencvRegions(mask: MaskCase): { outer: number[]; holes: number[][] }[] {
  const src = cv.matFromArray(mask.height, mask.width, cv.CV_8UC1, mask.data);
  const contours = new cv.MatVector();
  const hierarchy = new cv.Mat();
  try {
    cv.findContours(src, contours, hierarchy, cv.RETR_CCOMP, cv.CHAIN_APPROX_SIMPLE);
    const rings: number[][] = [];
    for (let i = 0; i < contours.size(); i++) {
      const c = contours.get(i);
      rings.push(Array.from(c.data32S));
      c.delete();
    }
    const h = hierarchy.rows > 0 || hierarchy.cols > 0 ? hierarchy.data32S : new Int32Array();
    const regions = new Map<number, { outer: number[]; holes: number[][] }>();
    for (let i = 0; i < rings.length; i++) if (h[4 * i + 3] === -1) regions.set(i, { outer: rings[i], holes: [] });
    for (let i = 0; i < rings.length; i++) {
      const parent = h[4 * i + 3];
      if (parent !== -1) {
        // RETR_CCOMP has two levels: every hole's parent is a top-level outer border.
        expect(h[4 * parent + 3]).toBe(-1);
        regions.get(parent)!.holes.push(rings[i]);
      }
    }
    return [...regions.values()];
  } finally {
    src.delete();
    contours.delete();
    hierarchy.delete();
  }
}

const native = loadNativeAddon().addon;

function nativeRegions(mask: MaskCase) {
  const input: PolygonInput = { kind: 'mask', data: mask.data, width: mask.width, height: mask.height };
  return unpackRegions(native!.findPolygons(input));
}

function referenceRegions(mask: MaskCase) {
  return unpackRegions(findPolygonsPacked({ kind: 'mask', data: mask.data, width: mask.width, height: mask.height }));
}

/** Outer rings are counter-clockwise on screen (negative shoelace sum), holes clockwise. */
function expectOrientation(regions: { outer: ArrayLike<number>; holes: ArrayLike<number>[] }[]): void {
  const sum = (r: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < r.length; i += 2) {
      const j = (i + 2) % r.length;
      s += r[i] * r[j + 1] - r[j] * r[i + 1];
    }
    return s;
  };
  for (const region of regions) {
    expect(sum(region.outer)).toBeLessThanOrEqual(0);
    for (const hole of region.holes) expect(sum(hole)).toBeGreaterThan(0);
  }
}

function expectMatchesOpencv(mask: MaskCase, implementations: ('native' | 'typescript')[] = ['native']): void {
  const expected = structureOf(opencvRegions(mask));
  for (const which of implementations) {
    const regions = which === 'native' ? nativeRegions(mask) : referenceRegions(mask);
    expectOrientation(regions);
    const actual = structureOf(regions);
    if (actual.length !== expected.length || actual.some((s, i) => s !== expected[i])) {
      // A compact first difference beats a megabyte diff.
      const i = actual.findIndex((s, k) => s !== expected[k]);
      expect({ case: mask.name, which, index: i, actual: actual[i]?.slice(0, 400), count: actual.length }).toEqual({
        case: mask.name,
        which,
        index: i,
        actual: expected[i]?.slice(0, 400),
        count: expected.length,
      });
    }
  }
}

describe('contours match OpenCV findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)', () => {
  it('the addon is built and loads', () => {
    expect(loadNativeAddon().error).toBeNull();
    expect(native).not.toBeNull();
  });

  it('hand-picked shapes give the known rings', () => {
    // 3×3 block with its centre missing, inside a 5×5 image.
    const data = new Uint8Array(25);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) data[y * 5 + x] = 1;
    data[12] = 0;
    const [region] = nativeRegions({ name: 'ring', width: 5, height: 5, data });
    expect(Array.from(region.outer)).toEqual([1, 1, 1, 3, 3, 3, 3, 1]);
    expect(region.holes.map((h) => Array.from(h))).toEqual([[1, 2, 2, 1, 3, 2, 2, 3]]);
    expect(region.area).toBe(2);
    expect(region.bbox).toEqual([1, 1, 3, 3]);
    expectMatchesOpencv({ name: 'ring', width: 5, height: 5, data }, ['native', 'typescript']);
  });

  it('400 seeded small masks of every kind (1×1 … 100×100), addon and TypeScript', () => {
    for (let seed = 0; seed < 400; seed++) expectMatchesOpencv(mixedCase(seed), ['native', 'typescript']);
  });

  it('1×1 … 3×3 exhaustively: every mask up to 9 pixels', () => {
    for (const [w, h] of [
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
      [3, 1],
      [1, 3],
      [3, 2],
      [2, 3],
      [3, 3],
    ] as const) {
      for (let bits = 0; bits < 1 << (w * h); bits++) {
        const data = new Uint8Array(w * h);
        for (let i = 0; i < w * h; i++) data[i] = (bits >> i) & 1;
        expectMatchesOpencv({ name: `${w}x${h}-${bits}`, width: w, height: h, data }, ['native', 'typescript']);
      }
    }
  });

  it('medium masks (256² … 512²): noise, blobs, nested rings, lines, checkerboards, rectangles', () => {
    const cases: MaskCase[] = [];
    for (let seed = 1; seed <= 3; seed++) {
      cases.push({ name: `noise-256-${seed}`, width: 256, height: 256, data: noiseMask(256, 256, 0.3 * seed, seed) });
      cases.push({ name: `blobs-512-${seed}`, width: 512, height: 384, data: blobMask(512, 384, 40, seed) });
      cases.push({ name: `rings-300-${seed}`, width: 300, height: 301, data: nestedRingMask(300, 301, 25, seed) });
      cases.push({ name: `lines-257-${seed}`, width: 257, height: 255, data: lineMask(257, 255, 200, seed) });
      cases.push({ name: `checker-128-${seed}`, width: 128, height: 129, data: checkerMask(128, 129, seed) });
      cases.push({ name: `rects-400-${seed}`, width: 400, height: 200, data: rectangleMask(400, 200, 30, seed) });
    }
    for (const c of cases) expectMatchesOpencv(c, ['native', 'typescript']);
  });

  it('large masks: 1024² and 2048² blobs, noise and lines, 1024² nested rings, 2048×1 and 1×2048 strips', () => {
    expectMatchesOpencv({ name: 'blobs-1024', width: 1024, height: 1024, data: blobMask(1024, 1024, 60, 7) });
    expectMatchesOpencv({ name: 'rings-1024', width: 1024, height: 1024, data: nestedRingMask(1024, 1024, 40, 8) });
    expectMatchesOpencv({ name: 'blobs-2048', width: 2048, height: 2048, data: blobMask(2048, 2048, 80, 9) });
    expectMatchesOpencv({ name: 'noise-1024', width: 1024, height: 1024, data: noiseMask(1024, 1024, 0.5, 12) });
    expectMatchesOpencv({ name: 'sparse-noise-2048', width: 2048, height: 2048, data: noiseMask(2048, 2048, 0.02, 13) });
    expectMatchesOpencv({ name: 'lines-2048', width: 2048, height: 2048, data: lineMask(2048, 2048, 300, 14) });
    expectMatchesOpencv({ name: 'noise-2048x1', width: 2048, height: 1, data: noiseMask(2048, 1, 0.5, 10) }, ['native', 'typescript']);
    expectMatchesOpencv({ name: 'noise-1x2048', width: 1, height: 2048, data: noiseMask(1, 2048, 0.5, 11) }, ['native', 'typescript']);
  });

  it('full and empty masks up to 2048²', () => {
    for (const side of [1, 2, 64, 2048]) {
      expectMatchesOpencv({ name: `full-${side}`, width: side, height: side, data: new Uint8Array(side * side).fill(1) });
      expectMatchesOpencv({ name: `empty-${side}`, width: side, height: side, data: new Uint8Array(side * side) });
    }
    const full = nativeRegions({ name: 'full', width: 2048, height: 2048, data: new Uint8Array(2048 * 2048).fill(9) });
    expect(full.map((r) => Array.from(r.outer))).toEqual([[0, 0, 0, 2047, 2047, 2047, 2047, 0]]);
  });
});
