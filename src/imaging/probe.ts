import sharp from 'sharp';
import './libvips.js';
import { badRequest, payloadTooLarge, unprocessableImage, unsupportedMediaType } from '../errors.js';
import { decoderFailure } from './decoder-failure.js';
import { readPngHeader } from './png-header.js';
import { describeUnsupportedImage, sniffImage, SUPPORTED_IMAGE_FORMATS, type SniffedImage } from './sniff.js';
import type { Size } from './transform.js';

export interface ImageLimits {
  /** Most pixels (width × height of the first frame) accepted, read from the header before any decoding. */
  maxInputPixels: number;
  /** Most encoded bytes accepted; absent = not checked here (the HTTP body limit still applies). */
  maxInputBytes?: number;
}

/** 50 megapixels: above the largest phone cameras, far below what would exhaust memory. */
export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = { maxInputPixels: 50_000_000 };

export interface ProbedImage extends SniffedImage {
  /** Size as stored, before EXIF orientation. */
  stored: Size;
  /** Size after EXIF orientation: what the client sees and what coordinates are reported in. */
  oriented: Size;
  hasAlpha: boolean;
  /** EXIF orientation (1 to 8); 1 when the image has none. */
  orientation: number;
  /** True when libvips decodes it to 8-bit sRGB with 3 or 4 channels, needing no conversion. */
  plainRgb: boolean;
}

/**
 * Checks an upload before it is decoded: size, type (415), readable header (422) and pixel count (413).
 * Only the header is parsed, so a tiny file declaring 30000×30000 is refused without allocating its pixels.
 */
export async function probeImage(bytes: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<ProbedImage> {
  if (bytes.length === 0) throw badRequest('image is empty');
  if (limits.maxInputBytes !== undefined && bytes.length > limits.maxInputBytes) {
    throw payloadTooLarge(`image is ${bytes.length} bytes; the limit is ${limits.maxInputBytes}`);
  }
  const sniffed = sniffImage(bytes);
  if (sniffed === undefined) {
    const known = describeUnsupportedImage(bytes);
    const supported = SUPPORTED_IMAGE_FORMATS.join(', ');
    throw unsupportedMediaType(
      known === undefined ? `not a recognised image; supported formats: ${supported}` : `${known} images are not supported; supported formats: ${supported}`,
    );
  }
  const png = sniffed.format === 'png' ? plainPng(bytes) : undefined;
  if (png !== undefined) {
    checkPixels(png.width, png.height, limits);
    const size = { width: png.width, height: png.height };
    return { ...sniffed, stored: size, oriented: size, hasAlpha: png.alpha, orientation: 1, plainRgb: true };
  }
  let meta: sharp.Metadata;
  try {
    // The pixel limit is enforced below with a clearer message; libvips' own limit stays on for decoding.
    meta = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (err) {
    throw decoderFailure(`read the ${sniffed.format} header`, err);
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  if (!width || !height) throw unprocessableImage(`the ${sniffed.format} header declares no size`);
  checkPixels(width, height, limits);
  const oriented = meta.autoOrient ?? { width, height };
  return {
    ...sniffed,
    stored: { width, height },
    oriented: { width: oriented.width, height: oriented.height },
    hasAlpha: meta.hasAlpha === true,
    orientation: meta.orientation ?? 1,
    plainRgb: meta.space === 'srgb' && meta.depth === 'uchar' && (meta.channels === 3 || meta.channels === 4),
  };
}

function checkPixels(width: number, height: number, limits: ImageLimits): void {
  if (width * height > limits.maxInputPixels) {
    throw payloadTooLarge(`image is ${width}×${height} (${width * height} pixels); the limit is ${limits.maxInputPixels} pixels`);
  }
}

/**
 * An 8-bit RGB, RGBA or palette PNG without an eXIf chunk, read from its own header: libvips
 * decodes these to 8-bit sRGB as they are. Anything else is left to libvips' header parse.
 */
function plainPng(bytes: Uint8Array): { width: number; height: number; alpha: boolean } | undefined {
  const h = readPngHeader(bytes);
  if (h === undefined || h.exif) return undefined;
  const rgb = (h.colorType === 2 || h.colorType === 6) && h.bitDepth === 8;
  const palette = h.colorType === 3 && [1, 2, 4, 8].includes(h.bitDepth);
  if (!rgb && !palette) return undefined;
  return { width: h.width, height: h.height, alpha: h.colorType === 6 || h.transparency };
}
