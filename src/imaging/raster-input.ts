import sharp from 'sharp';
import './libvips.js';
import { decoderFailure } from './decoder-failure.js';
import { decodeOptions } from './decode-check.js';
import { assertImageInputSpec, DEFAULT_BACKGROUND, type ImageInputSpec } from './input-spec.js';
import type { PixelImage, PreparedImage, RasterImage } from './prepare.js';
import { DEFAULT_IMAGE_LIMITS, probeImage, type ImageLimits } from './probe.js';
import { resizeByPlan } from './libvips-resize.js';
import { planResize, resampleTargetOf, type ResizePlan } from './resize-plan.js';
import type { ImageFormat } from './sniff.js';

/** A whole image decoded once at its own size, for work that reads its pixels several times (crops). */
export interface DecodedImage extends PixelImage {
  format: ImageFormat;
  mediaType: string;
}

/**
 * Decodes an upload to 8-bit RGB at its size after EXIF orientation, alpha flattened onto
 * `background`; the same checks as predict (400, 413, 415, 422).
 */
export async function decodeImage(
  bytes: Uint8Array,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  background: readonly [number, number, number] = DEFAULT_BACKGROUND,
): Promise<DecodedImage> {
  const probed = await probeImage(bytes, limits);
  let pipeline = sharp(bytes, decodeOptions(limits)).autoOrient();
  if (probed.hasAlpha) pipeline = pipeline.flatten({ background: { r: background[0], g: background[1], b: background[2] } });
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decoderFailure(`decode the ${probed.format} image`, err);
  }
  const { data, info } = out;
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
  return {
    pixels: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    format: probed.format,
    mediaType: probed.mediaType,
  };
}

/**
 * Most tensor pixels left to the worker's bilinear resize. Pixels already decoded have no
 * shrink-on-load for libvips to gain, so the worker's triangle filter (it spans 1/scale source
 * pixels when shrinking) takes any scale here, where an encoded upload needs at least ½.
 */
const MAX_WORKER_RESAMPLED_PIXELS = 64 * 1024;

/**
 * Prepares pixels already decoded (a crop, a page decoded once) for a model without encoding
 * them again: small outputs go to the worker at their own size (a copy of the pixels, which are
 * transferred there; the caller's stay usable), larger ones are resized by libvips from raw.
 * Coordinates of the answer are in the pixels' own frame.
 */
export async function prepareDecoded(image: DecodedImage, spec: ImageInputSpec): Promise<PreparedImage | RasterImage> {
  assertImageInputSpec(spec);
  const { width, height } = image;
  const plan = planResize({ width, height }, spec);
  const background = spec.background ?? DEFAULT_BACKGROUND;
  if ((spec.kernel ?? 'linear') === 'linear' && plan.tensor.width * plan.tensor.height <= MAX_WORKER_RESAMPLED_PIXELS) {
    return {
      ...described(plan, image),
      raster: { data: image.pixels.slice(), width, height, channels: 3 },
      resample: resampleTargetOf(plan, background),
    };
  }
  const pipeline = resizeByPlan(sharp(image.pixels, { raw: { width, height, channels: 3 } }), plan, spec.kernel ?? 'linear');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== plan.tensor.width || info.height !== plan.tensor.height || info.channels !== 3) {
    throw new Error(`resized ${info.width}×${info.height}×${info.channels}, expected ${plan.tensor.width}×${plan.tensor.height}×3`);
  }
  return { ...described(plan, image), pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function described(plan: ResizePlan, image: DecodedImage): Omit<PreparedImage, 'pixels'> {
  return {
    width: plan.tensor.width,
    height: plan.tensor.height,
    original: { width: image.width, height: image.height },
    transform: plan.transform,
    content: { x: plan.left, y: plan.top, width: plan.content.width, height: plan.content.height },
    format: image.format,
    mediaType: image.mediaType,
  };
}
