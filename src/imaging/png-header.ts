import { fourcc, PNG_SIGNATURE, startsWith, u32 } from './header-bytes.js';

/**
 * The little of a PNG's header the decoder needs to plan: size, pixel format, transparency, and
 * whether an eXIf chunk (which may rotate the image) comes before the pixel data. Reading it here
 * spares a libvips header parse, which costs as much as decoding a small PNG.
 */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: number;
  /** A tRNS chunk: transparency on a format without an alpha channel. */
  transparency: boolean;
  /** An eXIf chunk, which may carry an orientation. */
  exif: boolean;
}

const MAX_CHUNKS_BEFORE_DATA = 1024;

/**
 * Walks the chunks up to the first IDAT. Undefined for anything not plainly well formed (IHDR not
 * first, a chunk running past the end, no IDAT): libvips then reads the header and reports.
 */
export function readPngHeader(b: Uint8Array): PngHeader | undefined {
  if (b.length < 33 || !startsWith(b, PNG_SIGNATURE)) return undefined;
  if (u32(b, 8) !== 13 || fourcc(b, 12) !== 'IHDR') return undefined;
  const header: PngHeader = { width: u32(b, 16), height: u32(b, 20), bitDepth: b[24], colorType: b[25], transparency: false, exif: false };
  if (header.width === 0 || header.height === 0 || header.width > 0x7fffffff || header.height > 0x7fffffff) return undefined;
  let at = 33;
  for (let n = 0; n < MAX_CHUNKS_BEFORE_DATA; n++) {
    if (at + 8 > b.length) return undefined;
    const length = u32(b, at);
    const name = fourcc(b, at + 4);
    if (name === 'IDAT') return header;
    if (name === 'tRNS') header.transparency = true;
    if (name === 'eXIf') header.exif = true;
    // Length, type, data and CRC.
    at += 12 + length;
  }
  return undefined;
}
