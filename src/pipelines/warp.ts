import type { PixelImage } from '../imaging/index.js';
import type { Quad } from './quad.js';

/** A projective map from the unit square onto a quadrilateral: x = (a·u + b·v + c) / (g·u + h·v + 1), y likewise. */
interface Homography {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
  g: number;
  h: number;
}

/**
 * The homography taking (0,0), (1,0), (1,1), (0,1) to the quad's corners in order
 * (Heckbert's closed form; an affine map when the quad is a parallelogram).
 */
function squareToQuad(q: Quad): Homography {
  const [[x0, y0], [x1, y1], [x2, y2], [x3, y3]] = q;
  const dx3 = x0 - x1 + x2 - x3;
  const dy3 = y0 - y1 + y2 - y3;
  if (Math.abs(dx3) < 1e-9 && Math.abs(dy3) < 1e-9) {
    return { a: x1 - x0, b: x3 - x0, c: x0, d: y1 - y0, e: y3 - y0, f: y0, g: 0, h: 0 };
  }
  const dx1 = x1 - x2;
  const dx2 = x3 - x2;
  const dy1 = y1 - y2;
  const dy2 = y3 - y2;
  const den = dx1 * dy2 - dx2 * dy1;
  const g = den === 0 ? 0 : (dx3 * dy2 - dx2 * dy3) / den;
  const h = den === 0 ? 0 : (dx1 * dy3 - dx3 * dy1) / den;
  return { a: x1 - x0 + g * x1, b: x3 - x0 + h * x3, c: x0, d: y1 - y0 + g * y1, e: y3 - y0 + h * y3, f: y0, g, h };
}

/** Most samples per output pixel along one axis (a strong shrink is averaged, not aliased). */
const MAX_SUPERSAMPLE = 4;

/**
 * Warps the quadrilateral of `src` (HWC RGB, coordinates continuous: pixel edges) onto an upright
 * `width` × `height` image: output pixel centres map through the homography, sampled bilinearly
 * with the border repeated (as PaddleOCR's warpPerspective with BORDER_REPLICATE), averaged over
 * up to 4 × 4 positions per pixel where the quad is larger than the output.
 */
export function warpQuad(src: PixelImage, quad: Quad, width: number, height: number): PixelImage {
  const H = squareToQuad(quad);
  const out = new Uint8Array(width * height * 3);
  const sw = src.width;
  const sh = src.height;
  const px = src.pixels;
  const side = (p: [number, number], r: [number, number]) => Math.hypot(r[0] - p[0], r[1] - p[1]);
  const sx = Math.max(side(quad[0], quad[1]), side(quad[3], quad[2])) / width;
  const sy = Math.max(side(quad[0], quad[3]), side(quad[1], quad[2])) / height;
  const kx = Math.min(MAX_SUPERSAMPLE, Math.max(1, Math.ceil(sx)));
  const ky = Math.min(MAX_SUPERSAMPLE, Math.max(1, Math.ceil(sy)));
  const weight = 1 / (kx * ky);
  const maxX = sw - 1;
  const maxY = sh - 1;
  // Samples lie on a regular grid of width·kx × height·ky; along a grid row the homography's
  // numerators and denominator are linear, so each sample costs additions and one division.
  const cols = width * kx;
  const du = 1 / cols;
  const row = new Float64Array(width * 3);
  for (let j = 0; j < height; j++) {
    row.fill(0);
    for (let sj = 0; sj < ky; sj++) {
      const v = (j * ky + sj + 0.5) / (height * ky);
      let nx = H.a * (0.5 * du) + H.b * v + H.c;
      let ny = H.d * (0.5 * du) + H.e * v + H.f;
      let dw = H.g * (0.5 * du) + H.h * v + 1;
      const sx = H.a * du;
      const sy = H.d * du;
      const sw_ = H.g * du;
      for (let t = 0; t < cols; t++, nx += sx, ny += sy, dw += sw_) {
        // Continuous source position, to pixel-centre index space.
        const x = nx / dw - 0.5;
        const y = ny / dw - 0.5;
        const xf = Math.floor(x);
        const yf = Math.floor(y);
        const fx = x - xf;
        const fy = y - yf;
        const x0 = xf < 0 ? 0 : xf > maxX ? maxX : xf;
        const x1 = xf + 1 < 0 ? 0 : xf + 1 > maxX ? maxX : xf + 1;
        const y0 = yf < 0 ? 0 : yf > maxY ? maxY : yf;
        const y1 = yf + 1 < 0 ? 0 : yf + 1 > maxY ? maxY : yf + 1;
        const p00 = (y0 * sw + x0) * 3;
        const p01 = (y0 * sw + x1) * 3;
        const p10 = (y1 * sw + x0) * 3;
        const p11 = (y1 * sw + x1) * 3;
        const w00 = (1 - fx) * (1 - fy);
        const w01 = fx * (1 - fy);
        const w10 = (1 - fx) * fy;
        const w11 = fx * fy;
        const o = ((t / kx) | 0) * 3;
        row[o] += px[p00] * w00 + px[p01] * w01 + px[p10] * w10 + px[p11] * w11;
        row[o + 1] += px[p00 + 1] * w00 + px[p01 + 1] * w01 + px[p10 + 1] * w10 + px[p11 + 1] * w11;
        row[o + 2] += px[p00 + 2] * w00 + px[p01 + 2] * w01 + px[p10 + 2] * w10 + px[p11 + 2] * w11;
      }
    }
    // The weights are convex, so every sum stays within 0..255: rounding needs no clamp.
    const base = j * width * 3;
    for (let k = 0; k < row.length; k++) out[base + k] = (row[k] * weight + 0.5) | 0;
  }
  return { pixels: out, width, height };
}

/** The image turned by 180° (pixel order reversed). */
export function turn180(image: PixelImage): PixelImage {
  const { width, height, pixels } = image;
  const out = new Uint8Array(pixels.length);
  const n = width * height;
  for (let p = 0; p < n; p++) {
    const s = p * 3;
    const d = (n - 1 - p) * 3;
    out[d] = pixels[s]!;
    out[d + 1] = pixels[s + 1]!;
    out[d + 2] = pixels[s + 2]!;
  }
  return { pixels: out, width, height };
}
