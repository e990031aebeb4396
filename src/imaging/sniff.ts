/**
 * Image type detection by magic bytes. A client's file name or Content-Type is never trusted:
 * only formats identified here reach the decoder, which keeps libvips' other loaders (SVG, PDF, …)
 * out of reach of untrusted input.
 */
import { ascii, fourcc, PNG_SIGNATURE, startsWith, u32 } from './header-bytes.js';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif';

export interface SniffedImage {
  format: ImageFormat;
  mediaType: string;
}

export const IMAGE_MEDIA_TYPES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
};

export const SUPPORTED_IMAGE_FORMATS = Object.keys(IMAGE_MEDIA_TYPES) as ImageFormat[];

const JPEG = [0xff, 0xd8, 0xff];
const GIF87 = ascii('GIF87a');
const GIF89 = ascii('GIF89a');
const RIFF = ascii('RIFF');
const WEBP = ascii('WEBP');
// Classic TIFF ("*" = 42) and BigTIFF ("+" = 43), both byte orders; libtiff reads all four.
const TIFF = [ascii('II*\0'), ascii('MM\0*'), ascii('II+\0'), ascii('MM\0+')];

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1']);

/** The brands of an ISO-BMFF `ftyp` box at the start of `b` (major first), or undefined when there is none. */
function ftypBrands(b: Uint8Array): string[] | undefined {
  if (b.length < 12 || fourcc(b, 4) !== 'ftyp') return undefined;
  const size = u32(b, 0);
  // 0 means "to the end of the file"; 1 (a 64-bit size) never occurs for ftyp; anything else below the
  // fixed part (header, major brand, minor version) is malformed.
  if (size !== 0 && size < 16) return undefined;
  // Brands after the minor version (bytes 12..15) run to the end of the box, or of what we have.
  const end = Math.min(b.length, size === 0 ? b.length : size);
  const brands = [fourcc(b, 8)];
  for (let at = 16; at + 4 <= end; at += 4) brands.push(fourcc(b, at));
  return brands;
}

/** Identifies a supported image by its first bytes; undefined for anything else (including truncated headers). */
export function sniffImage(bytes: Uint8Array): SniffedImage | undefined {
  const format = sniffFormat(bytes);
  return format === undefined ? undefined : { format, mediaType: IMAGE_MEDIA_TYPES[format] };
}

function sniffFormat(b: Uint8Array): ImageFormat | undefined {
  if (startsWith(b, JPEG)) return 'jpeg';
  if (startsWith(b, PNG_SIGNATURE)) return 'png';
  if (startsWith(b, GIF87) || startsWith(b, GIF89)) return 'gif';
  if (startsWith(b, RIFF) && startsWith(b, WEBP, 8)) return 'webp';
  if (TIFF.some((sig) => startsWith(b, sig))) return 'tiff';
  // HEIF files declare AV1 content with the avif/avis brand, as major or compatible brand (e.g. major "mif1").
  const brands = ftypBrands(b);
  if (brands?.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  return undefined;
}

/**
 * Names a recognised but unsupported format, for a helpful 415 message; undefined when unrecognised.
 * HEIC (HEVC-coded HEIF) is refused because the bundled libvips has no HEVC decoder.
 */
export function describeUnsupportedImage(b: Uint8Array): string | undefined {
  const brands = ftypBrands(b);
  if (brands !== undefined) {
    if (brands.some((brand) => HEVC_BRANDS.has(brand))) return 'HEIC (HEVC-coded HEIF)';
    if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'HEIF without AV1 content';
    return `ISO media (brand ${JSON.stringify(brands[0])})`;
  }
  if (startsWith(b, ascii('BM')) && b.length >= 14) return 'BMP';
  if (startsWith(b, ascii('%PDF'))) return 'PDF';
  if (startsWith(b, [0xff, 0x0a]) || startsWith(b, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'JPEG XL';
  if (startsWith(b, [0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(b, [0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG';
  return undefined;
}
