/**
 * Seeded generators of masks, probability maps and label maps for the polygon tests and bench.
 * Every generator is a pure function of its arguments (mulberry32 PRNG), so a failing case is
 * reproduced by its name and seed alone.
 */

export interface MaskCase {
  name: string;
  width: number;
  height: number;
  data: Uint8Array;
}

/** mulberry32: small, fast, good enough for test data. Returns floats in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Independent pixels, foreground with probability `density`. */
export function noiseMask(width: number, height: number, density: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = rand() < density ? 1 + int(rand, 0, 254) : 0;
  return data;
}

function fillEllipse(data: Uint8Array, width: number, height: number, cx: number, cy: number, rx: number, ry: number, value: number): void {
  const y0 = Math.max(0, Math.floor(cy - ry)),
    y1 = Math.min(height - 1, Math.ceil(cy + ry));
  const x0 = Math.max(0, Math.floor(cx - rx)),
    x1 = Math.min(width - 1, Math.ceil(cx + rx));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = (x - cx) / rx,
        dy = (y - cy) / ry;
      if (dx * dx + dy * dy <= 1) data[y * width + x] = value;
    }
  }
}

/** Overlapping random ellipses, some reaching past the image border. */
export function blobMask(width: number, height: number, count: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  const scale = Math.max(1, Math.min(width, height) / 6);
  for (let i = 0; i < count; i++) {
    fillEllipse(data, width, height, rand() * width, rand() * height, 0.5 + rand() * scale, 0.5 + rand() * scale, 255);
  }
  return data;
}

/** Rings (holes) with islands inside the holes, islands with their own holes, nested a few deep. */
export function nestedRingMask(width: number, height: number, count: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  const scale = Math.max(2, Math.min(width, height) / 4);
  for (let i = 0; i < count; i++) {
    const cx = rand() * width,
      cy = rand() * height;
    let r = 1 + rand() * scale;
    let value = 1;
    while (r > 0.7) {
      fillEllipse(data, width, height, cx, cy, r, r * (0.6 + rand() * 0.8), value);
      value ^= 1;
      r -= 1 + rand() * 3;
    }
  }
  return data;
}

/** One-pixel lines: horizontal, vertical, diagonal and random 8-connected walks. */
export function lineMask(width: number, height: number, count: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < count; i++) {
    let x = int(rand, 0, width - 1),
      y = int(rand, 0, height - 1);
    const steps = int(rand, 1, Math.max(width, height));
    const kind = int(rand, 0, 3);
    const dx = int(rand, -1, 1),
      dy = kind === 0 ? 0 : int(rand, -1, 1);
    for (let s = 0; s < steps; s++) {
      if (x < 0 || y < 0 || x >= width || y >= height) break;
      data[y * width + x] = 1;
      if (kind === 3) {
        x += int(rand, -1, 1);
        y += int(rand, -1, 1);
      } else {
        x += dx || (kind === 1 ? 0 : 1);
        y += dy;
      }
    }
  }
  return data;
}

/** A checkerboard with random defects: every component touches others only diagonally. */
export function checkerMask(width: number, height: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = (x + y) % 2 === 0 || rand() < 0.1 ? 1 : 0;
  }
  return data;
}

/** Axis-aligned filled rectangles at random places, possibly overlapping the border. */
export function rectangleMask(width: number, height: number, count: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < count; i++) {
    const x0 = int(rand, -2, width - 1),
      y0 = int(rand, -2, height - 1);
    const x1 = x0 + int(rand, 0, Math.max(1, width / 3)),
      y1 = y0 + int(rand, 0, Math.max(1, height / 3));
    for (let y = Math.max(0, y0); y <= Math.min(height - 1, y1); y++) {
      for (let x = Math.max(0, x0); x <= Math.min(width - 1, x1); x++) data[y * width + x] = 1;
    }
  }
  return data;
}

/** A mix of every generator above, cycling through kinds and sizes by seed. */
export function mixedCase(seed: number): MaskCase {
  const rand = random(seed * 7919 + 13);
  const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100];
  const width = sizes[int(rand, 0, sizes.length - 1)];
  const height = sizes[int(rand, 0, sizes.length - 1)];
  const kind = seed % 8;
  const s = seed * 31 + 1;
  switch (kind) {
    case 0:
      return { name: `noise-${seed}`, width, height, data: noiseMask(width, height, rand(), s) };
    case 1:
      return { name: `blobs-${seed}`, width, height, data: blobMask(width, height, int(rand, 1, 12), s) };
    case 2:
      return { name: `rings-${seed}`, width, height, data: nestedRingMask(width, height, int(rand, 1, 5), s) };
    case 3:
      return { name: `lines-${seed}`, width, height, data: lineMask(width, height, int(rand, 1, 10), s) };
    case 4:
      return { name: `checker-${seed}`, width, height, data: checkerMask(width, height, s) };
    case 5:
      return { name: `rects-${seed}`, width, height, data: rectangleMask(width, height, int(rand, 1, 8), s) };
    case 6:
      return { name: `dense-noise-${seed}`, width, height, data: noiseMask(width, height, 0.5 + rand() * 0.5, s) };
    default: {
      const full = rand() < 0.5;
      return { name: `${full ? 'full' : 'empty'}-${seed}`, width, height, data: new Uint8Array(width * height).fill(full ? 1 : 0) };
    }
  }
}

/** A smooth random field in [0, 1]: a sum of a few random sinusoids, squashed. */
export function probabilityMap(width: number, height: number, seed: number): Float32Array {
  const rand = random(seed);
  const waves = Array.from({ length: 4 }, () => ({
    fx: (rand() - 0.5) * 0.6,
    fy: (rand() - 0.5) * 0.6,
    phase: rand() * 6.283,
  }));
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const w of waves) v += Math.sin(w.fx * x + w.fy * y + w.phase);
      data[y * width + x] = 1 / (1 + Math.exp(-1.5 * v));
    }
  }
  return data;
}

/** A label map of overlapping ellipses with labels 1 … labels, some left at background 0. */
export function labelMap(width: number, height: number, labels: number, seed: number): Uint8Array {
  const rand = random(seed);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < labels * 3; i++) {
    const scale = Math.max(1, Math.min(width, height) / 5);
    fillEllipse(data, width, height, rand() * width, rand() * height, 0.5 + rand() * scale, 0.5 + rand() * scale, int(rand, 1, labels));
  }
  return data;
}
