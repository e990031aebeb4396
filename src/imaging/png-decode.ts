import { crc32, inflateSync } from 'node:zlib';
import { PNG_SIGNATURE, startsWith, u32 } from './header-bytes.js';
import type { Raster } from './resample.js';

/**
 * A decoder for the plainest PNGs: 8-bit grey, grey + alpha, RGB or RGBA, not interlaced, with
 * no chunk that changes what the pixels mean (ICC profile, gamma, transparency key, EXIF). On
 * a small image libvips' per-call set-up in sharp costs the calling thread several times what
 * inflating and unfiltering the scanlines here does. Grey comes back replicated to RGB(A), as
 * libvips' sRGB conversion does.
 * Undefined for anything else, and for anything malformed (a bad CRC, a short or overlong
 * stream, an unknown filter): libvips then decodes it and gives its own verdict.
 */
export function decodePlainPng(b: Uint8Array): Raster | undefined {
  if (b.length < 45 || !startsWith(b, PNG_SIGNATURE) || u32(b, 8) !== 13 || tag(b, 12) !== IHDR) return undefined;
  const width = u32(b, 16);
  const height = u32(b, 20);
  const colorType = b[25];
  // Bit depth 8, compression 0, filter method 0, no interlacing.
  if (b[24] !== 8 || b[26] !== 0 || b[27] !== 0 || b[28] !== 0) return undefined;
  const bpp = colorType === 0 ? 1 : colorType === 4 ? 2 : colorType === 2 ? 3 : colorType === 6 ? 4 : 0;
  if (bpp === 0 || width === 0 || height === 0) return undefined;
  const stride = width * bpp;
  const expected = height * (stride + 1);
  if (!Number.isSafeInteger(expected) || expected > MAX_RAW_BYTES) return undefined;

  const idat: Uint8Array[] = [];
  let at = 8;
  let ended = false;
  while (at + 12 <= b.length) {
    const length = u32(b, at);
    const end = at + 12 + length;
    if (end > b.length) return undefined;
    const name = tag(b, at + 4);
    if (crc32(b.subarray(at + 4, at + 8 + length)) !== u32(b, at + 8 + length)) return undefined;
    if (name === IDAT) idat.push(b.subarray(at + 8, at + 8 + length));
    else if (name === IEND) {
      ended = true;
      break;
    } else if (name !== IHDR && !HARMLESS.has(name)) return undefined;
    at = end;
  }
  if (!ended || idat.length === 0) return undefined;

  let raw: Buffer;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), { maxOutputLength: expected });
  } catch {
    return undefined;
  }
  if (raw.length !== expected) return undefined;
  const pixels = unfilter(raw, width, height, bpp);
  if (pixels === undefined) return undefined;
  if (bpp >= 3) return { data: pixels, width, height, channels: bpp as 3 | 4 };
  return { data: greyToRgb(pixels, width * height, bpp === 2), width, height, channels: bpp === 2 ? 4 : 3 };
}

/** 64 MiB of scanlines: far above any image the bilinear path takes, a cap on what inflating may allocate. */
const MAX_RAW_BYTES = 64 * 1024 * 1024;

// Chunk types as big-endian integers, compared without building strings.
const fourCC = (s: string) => ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
const IHDR = fourCC('IHDR');
const IDAT = fourCC('IDAT');
const IEND = fourCC('IEND');
/** Ancillary chunks that leave the decoded pixels as they are (text, resolution, time, the sRGB tag, a suggested background). */
const HARMLESS = new Set(['tEXt', 'zTXt', 'iTXt', 'pHYs', 'tIME', 'sRGB', 'bKGD'].map(fourCC));

const tag = u32;

/** Reverses the per-scanline filters (none, sub, up, average, Paeth) into tightly packed rows. */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number): Uint8Array | undefined {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  for (let y = 0, p = 0; y < height; y++, p += stride + 1) {
    const filter = raw[p];
    const s = p + 1;
    const d = y * stride;
    const up = d - stride;
    switch (filter) {
      case 0:
        out.set(raw.subarray(s, s + stride), d);
        break;
      case 1:
        for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i]!;
        for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + out[d + i - bpp];
        break;
      case 2:
        if (y === 0) out.set(raw.subarray(s, s + stride), d);
        else for (let i = 0; i < stride; i++) out[d + i] = raw[s + i] + out[up + i];
        break;
      case 3:
        if (y === 0) {
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i]!;
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + (out[d + i - bpp] >> 1);
        } else {
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i] + (out[up + i] >> 1);
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + ((out[d + i - bpp] + out[up + i]) >> 1);
        }
        break;
      case 4:
        if (y === 0) {
          // With no row above, Paeth picks the left neighbour: the sub filter.
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i]!;
          for (let i = bpp; i < stride; i++) out[d + i] = raw[s + i] + out[d + i - bpp];
        } else {
          for (let i = 0; i < bpp; i++) out[d + i] = raw[s + i] + out[up + i];
          for (let i = bpp; i < stride; i++) {
            const a = out[d + i - bpp];
            const bb = out[up + i];
            const c = out[up + i - bpp];
            const pa = Math.abs(bb - c);
            const pb = Math.abs(a - c);
            const pc = Math.abs(a + bb - 2 * c);
            out[d + i] = raw[s + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? bb : c);
          }
        }
        break;
      default:
        return undefined;
    }
  }
  return out;
}

/** Grey (or grey + alpha) replicated into RGB (or RGBA). */
function greyToRgb(grey: Uint8Array, n: number, alpha: boolean): Uint8Array {
  const out = new Uint8Array(n * (alpha ? 4 : 3));
  if (alpha) {
    for (let p = 0, q = 0, o = 0; p < n; p++, q += 2, o += 4) {
      const v = grey[q];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
      out[o + 3] = grey[q + 1]!;
    }
  } else {
    for (let p = 0, o = 0; p < n; p++, o += 3) {
      const v = grey[p];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  }
  return out;
}
