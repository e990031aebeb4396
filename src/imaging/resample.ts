/**
 * A bilinear (triangle-filter) resize of small 8-bit images, with alpha flattening and padding,
 * in plain TypeScript. libvips spends about a millisecond setting up a resize whatever the image
 * size, which on a 320×48 text crop is most of its decode cost; this does the same work in about
 * a quarter of that. It is used only where it matches libvips' `linear` kernel in kind: 8-bit sRGB
 * input, scale factors of at least ½ (so the filter spans few taps), small outputs.
 */

/** Decoded pixels as libvips returns them: HWC, 8-bit, 3 channels or 4 with alpha. */
export interface Raster {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface ResampleTarget {
  /** Tensor size of the output image. */
  width: number;
  height: number;
  /** Where the resized image goes inside it; the rest is `padValue`. */
  content: { x: number; y: number; width: number; height: number };
  padValue: number;
  /** RGB that transparent pixels are flattened onto. */
  background: readonly [number, number, number];
}

/** For each output position along one axis: its first source index, tap count and weights. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** Weights of output o start at o × span. */
  weight: Float64Array;
  span: number;
  /** Same size, every output its own source pixel: nothing to resample on this axis. */
  identity: boolean;
}

/** Adds one output position's triangle-filter weights, normalised to sum to `share`, into `into` (source index → weight). */
function triangle(inSize: number, centre: number, radius: number, into: Map<number, number>, share: number): void {
  const lo = Math.ceil(centre - radius);
  const hi = Math.floor(centre + radius);
  const weights: Array<[number, number]> = [];
  let sum = 0;
  for (let i = lo; i <= hi; i++) {
    const w = Math.max(0, 1 - Math.abs(i - centre) / radius);
    if (w === 0) continue;
    // Beyond an edge, the border pixel repeats.
    weights.push([Math.min(inSize - 1, Math.max(0, i)), w]);
    sum += w;
  }
  for (const [i, w] of weights) into.set(i, (into.get(i) ?? 0) + (share * w) / sum);
}

/**
 * Tap tables by size, first in first out (the oldest entry goes when full): requests to one model
 * mostly share a handful of sizes.
 */
const tapCache = new Map<string, Taps>();
const TAP_CACHE_SIZE = 256;

function cachedTaps(inSize: number, outSize: number, shifted: boolean): Taps {
  const key = `${inSize}:${outSize}:${shifted ? 1 : 0}`;
  let t = tapCache.get(key);
  if (t === undefined) {
    t = taps(inSize, outSize, shifted);
    if (tapCache.size >= TAP_CACHE_SIZE) tapCache.delete(tapCache.keys().next().value!);
    tapCache.set(key, t);
  }
  return t;
}

/**
 * Positions follow libvips' `resize` with the linear kernel. Shrinking aligns pixel centres
 * (x_in = (x_out + ½) / scale − ½) with the triangle widened to 1/scale so every source pixel
 * contributes. When either axis is enlarged, libvips finishes with an affine pass that samples
 * at x_out / scale − ½ on both axes, so an axis that was shrunk (or kept) there is also shifted
 * by half a pixel: `shifted` reproduces that.
 */
function taps(inSize: number, outSize: number, shifted: boolean): Taps {
  const scale = outSize / inSize;
  const perOutput: Array<Map<number, number>> = [];
  for (let o = 0; o < outSize; o++) {
    const at = new Map<number, number>();
    if (scale > 1) {
      triangle(inSize, o / scale - 0.5, 1, at, 1);
    } else if (!shifted) {
      triangle(inSize, (o + 0.5) / scale - 0.5, 1 / scale, at, 1);
    } else {
      // Half of the previous shrunk pixel (the first one at the edge) and half of this one.
      triangle(inSize, (Math.max(0, o - 1) + 0.5) / scale - 0.5, 1 / scale, at, 0.5);
      triangle(inSize, (o + 0.5) / scale - 0.5, 1 / scale, at, 0.5);
    }
    perOutput.push(at);
  }
  let span = 1;
  for (const at of perOutput) {
    const keys = [...at.keys()];
    span = Math.max(span, Math.max(...keys) - Math.min(...keys) + 1);
  }
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weight = new Float64Array(outSize * span);
  perOutput.forEach((at, o) => {
    const lo = Math.min(...at.keys());
    const hi = Math.max(...at.keys());
    first[o] = lo;
    count[o] = hi - lo + 1;
    for (const [i, w] of at) weight[o * span + (i - lo)] = w;
  });
  return { first, count, weight, span, identity: !shifted && inSize === outSize };
}

/** Flattens alpha onto the background (rounded to nearest, as libvips' flatten does); 3-channel input is viewed as is. */
function flatten(src: Raster, background: readonly [number, number, number]): Uint8Array {
  const d = src.data;
  // One element type for the loops below, whether libvips handed over a Buffer or not.
  if (src.channels === 3) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const n = src.width * src.height;
  const out = new Uint8Array(n * 3);
  const [br, bg, bb] = background;
  for (let p = 0, q = 0, o = 0; p < n; p++, q += 4, o += 3) {
    const a = d[q + 3];
    if (a === 255) {
      out[o] = d[q]!;
      out[o + 1] = d[q + 1]!;
      out[o + 2] = d[q + 2]!;
      continue;
    }
    const na = 255 - a;
    // round(x / 255) for x in 0..65025, in integers.
    const r = d[q] * a + br * na + 128;
    const g = d[q + 1] * a + bg * na + 128;
    const b = d[q + 2] * a + bb * na + 128;
    out[o] = (r + (r >> 8)) >> 8;
    out[o + 1] = (g + (g >> 8)) >> 8;
    out[o + 2] = (b + (b >> 8)) >> 8;
  }
  return out;
}

/** Rounds and clamps to 0..255 (stores into a Uint8Array wrap rather than clamp). */
const toByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * Resizes `src` into the content box of a `target`-sized RGB image and pads the rest. A 3-channel
 * source already of the target's size comes back as a view of its own bytes, not a copy.
 */
export function resampleInto(src: Raster, target: ResampleTarget): Uint8Array {
  const { width: W, height: H, content, padValue } = target;
  const rgb = flatten(src, target.background);
  const sw = src.width;
  const sh = src.height;
  const cw = content.width;
  const ch = content.height;
  const rowBytes = cw * 3;
  // Already the content's size: no resize pass, the (flattened) rows go straight into place.
  if (cw === sw && ch === sh) {
    if (cw === W && ch === H) return rgb;
    const out = new Uint8Array(W * H * 3).fill(padValue);
    for (let y = 0; y < ch; y++) out.set(rgb.subarray(y * rowBytes, (y + 1) * rowBytes), ((content.y + y) * W + content.x) * 3);
    return out;
  }
  const out = new Uint8Array(W * H * 3).fill(padValue);
  const shifted = cw > sw || ch > sh;
  const tx = cachedTaps(sw, cw, shifted);
  const ty = cachedTaps(sh, ch, shifted);

  // Horizontal pass: every source row to cw columns, in doubles for the vertical pass (or, when
  // the height stays as it is, rounded straight into the content box).
  const rows = ty.identity ? undefined : new Float64Array(sh * rowBytes);
  const xFirst = tx.first;
  const xCount = tx.count;
  const xWeight = tx.weight;
  const xSpan = tx.span;
  for (let y = 0; y < sh; y++) {
    const srcRow = y * sw * 3;
    let d = ty.identity ? ((content.y + y) * W + content.x) * 3 : y * rowBytes;
    for (let x = 0; x < cw; x++, d += 3) {
      let r = 0;
      let g = 0;
      let b = 0;
      let s = srcRow + xFirst[x] * 3;
      const n = xCount[x];
      for (let k = 0, wk = x * xSpan; k < n; k++, wk++, s += 3) {
        const w = xWeight[wk];
        r += rgb[s] * w;
        g += rgb[s + 1] * w;
        b += rgb[s + 2] * w;
      }
      if (rows === undefined) {
        out[d] = toByte(r);
        out[d + 1] = toByte(g);
        out[d + 2] = toByte(b);
      } else {
        rows[d] = r;
        rows[d + 1] = g;
        rows[d + 2] = b;
      }
    }
  }
  if (rows === undefined) return out;

  // Vertical pass: each output row is a weighted sum of whole rows, written into the content box.
  const acc = new Float64Array(rowBytes);
  for (let y = 0; y < ch; y++) {
    const n = ty.count[y];
    const from = ty.first[y];
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const w = ty.weight[y * ty.span + k];
      const base = (from + k) * rowBytes;
      for (let i = 0; i < rowBytes; i++) acc[i] += rows[base + i] * w;
    }
    const dst = ((content.y + y) * W + content.x) * 3;
    for (let i = 0; i < rowBytes; i++) out[dst + i] = toByte(acc[i]);
  }
  return out;
}
