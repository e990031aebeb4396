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

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_CHUNKS_BEFORE_DATA = 1024;

const type = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Walks the chunks up to the first IDAT. Undefined for anything not plainly well formed (IHDR not
 * first, a chunk running past the end, no IDAT): libvips then reads the header and reports.
 */
export function readPngHeader(b: Uint8Array): PngHeader | undefined {
  if (b.length < 33 || SIGNATURE.some((v, i) => b[i] !== v)) return undefined;
  if (u32(b, 8) !== 13 || type(b, 12) !== 'IHDR') return undefined;
  const header: PngHeader = { width: u32(b, 16), height: u32(b, 20), bitDepth: b[24]!, colorType: b[25]!, transparency: false, exif: false };
  if (header.width === 0 || header.height === 0 || header.width > 0x7fffffff || header.height > 0x7fffffff) return undefined;
  let at = 33;
  for (let n = 0; n < MAX_CHUNKS_BEFORE_DATA; n++) {
    if (at + 8 > b.length) return undefined;
    const length = u32(b, at);
    const name = type(b, at + 4);
    if (name === 'IDAT') return header;
    if (name === 'tRNS') header.transparency = true;
    if (name === 'eXIf') header.exif = true;
    // Length, type, data and CRC.
    at += 12 + length;
  }
  return undefined;
}
