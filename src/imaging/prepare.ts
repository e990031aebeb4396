import sharp from 'sharp';
import './libvips.js';
import { decoderFailure } from './decoder-failure.js';
import { decodeOptions } from './decode-check.js';
import { assertImageInputSpec, DEFAULT_BACKGROUND, type ImageInputSpec } from './input-spec.js';
import { DEFAULT_IMAGE_LIMITS, probeImage, type ImageLimits, type ProbedImage } from './probe.js';
import { type Raster, type ResampleTarget, resampleInto } from './resample.js';
import { decodePlainPng } from './png-decode.js';
import { resizeByPlan } from './libvips-resize.js';
import { planResize, resampleTargetOf, type ResizePlan } from './resize-plan.js';
import type { ImageFormat } from './sniff.js';
import type { ImageTransform, Size } from './transform.js';

/** Pixels ready for a tensor: HWC, 3 channels, uint8, tightly packed (row stride = width · 3). */
export interface PixelImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

export interface PreparedImage extends PixelImage {
  /** Size after EXIF orientation; `transform` maps tensor coordinates back into it. */
  original: Size;
  /** originalX = (tensorX − padX) / scaleX, originalY = (tensorY − padY) / scaleY. */
  transform: ImageTransform;
  /** The part of the tensor holding image content (the rest is padding), in tensor pixels. */
  content: { x: number; y: number; width: number; height: number };
  format: ImageFormat;
  mediaType: string;
}

/**
 * Decodes, validates and resizes one uploaded image for a model.
 * Errors: 400 empty, 413 too many bytes/pixels, 415 not a supported image type, 422 undecodable.
 * EXIF orientation is applied, only the first frame of animated/multi-page images is used, alpha is
 * flattened onto `spec.background`, and the result always has 3 channels in RGB order; a model's
 * BGR order is applied when the worker fills the tensor, where it costs nothing (a recomb here
 * costs libvips a float pass per image).
 * Decoding runs in libvips' threads. Small images that need only a mild bilinear resize are
 * resized by `resampleInto`, which costs far less than libvips' set-up; `decodeForModel` leaves
 * that step to the inference worker. Plain 8-bit PNGs among them are decoded by
 * `decodePlainPng` without calling sharp, whose synchronous set-up costs more than the decode.
 */
export async function prepareImage(bytes: Uint8Array, spec: ImageInputSpec, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<PreparedImage> {
  const image = await decodeForModel(bytes, spec, limits);
  return 'raster' in image ? resampled(image) : image;
}

/**
 * An image decoded at its own size, whose bilinear resize into the tensor (`resampleInto`) is
 * left to the thread that fills the tensor, so the main thread does no per-pixel work.
 */
export interface RasterImage extends Omit<PreparedImage, 'pixels'> {
  raster: Raster;
  resample: ResampleTarget;
}

/** The resize a RasterImage leaves for later, done now. */
export function resampled(image: RasterImage): PreparedImage {
  const { raster, resample, ...rest } = image;
  return { ...rest, pixels: resampleInto(raster, resample) };
}

/** Like `prepareImage`, but small images come back decoded and not yet resized (see RasterImage). */
export async function decodeForModel(
  bytes: Uint8Array,
  spec: ImageInputSpec,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<PreparedImage | RasterImage> {
  assertImageInputSpec(spec);
  const probed = await probeImage(bytes, limits);
  const plan = planResize(probed.oriented, spec);
  const background = spec.background ?? DEFAULT_BACKGROUND;
  const [r, g, b] = background;

  if (resamplesHere(probed, plan, spec)) {
    const raster = await decodeRaster(bytes, probed, limits);
    // The header said 8-bit RGB(A) of this size; anything else goes the libvips way below.
    if (raster !== undefined && raster.width === probed.stored.width && raster.height === probed.stored.height) {
      return {
        ...described(plan, probed),
        raster,
        resample: resampleTargetOf(plan, background),
      };
    }
  }

  let pipeline = sharp(bytes, decodeOptions(limits)).autoOrient();
  // Flattening only matters with alpha; skipping it saves libvips an operation per image.
  if (probed.hasAlpha) pipeline = pipeline.flatten({ background: { r, g, b } });
  pipeline = resizeByPlan(pipeline, plan, spec.kernel ?? 'linear');
  pipeline = pipeline.removeAlpha();
  // Greyscale, CMYK and 16-bit inputs all end as 8-bit sRGB.
  pipeline = pipeline.toColourspace('srgb').raw({ depth: 'uchar' });

  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decoderFailure(`decode the ${probed.format} image`, err);
  }
  const { data, info } = out;
  if (info.width !== plan.tensor.width || info.height !== plan.tensor.height || info.channels !== 3) {
    // A mismatch here is a bug in the plan or in how it is handed to libvips, not bad input.
    throw new Error(`decoded ${info.width}×${info.height}×${info.channels}, expected ${plan.tensor.width}×${plan.tensor.height}×3`);
  }
  return prepared(new Uint8Array(data.buffer, data.byteOffset, data.length), plan, probed);
}

/**
 * The stored pixels of an image `resamplesHere` takes: plain 8-bit PNGs decoded here (no sharp
 * call on this thread), the rest by libvips. Undefined when libvips' result is not 8-bit RGB(A).
 */
async function decodeRaster(bytes: Uint8Array, probed: ProbedImage, limits: ImageLimits): Promise<Raster | undefined> {
  if (probed.format === 'png') {
    const raster = decodePlainPng(bytes);
    if (raster !== undefined) return raster;
  }
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(bytes, decodeOptions(limits)).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decoderFailure(`decode the ${probed.format} image`, err);
  }
  const { data, info } = decoded;
  if (info.channels !== 3 && info.channels !== 4) return undefined;
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** Most tensor pixels resized by `resampleInto`: about a millisecond of work at the limit. */
const MAX_RESAMPLED_PIXELS = 64 * 1024;

/**
 * Whether the resize runs in `resampleInto` rather than libvips: 8-bit sRGB without EXIF rotation,
 * the default kernel, no axis shrunk below half (libvips shrinks large images better, and
 * decodes JPEG at a reduced size for them), and a small output.
 */
function resamplesHere(probed: ProbedImage, plan: ResizePlan, spec: ImageInputSpec): boolean {
  return (
    probed.plainRgb &&
    probed.orientation === 1 &&
    (spec.kernel ?? 'linear') === 'linear' &&
    plan.content.width * 2 >= probed.stored.width &&
    plan.content.height * 2 >= probed.stored.height &&
    plan.tensor.width * plan.tensor.height <= MAX_RESAMPLED_PIXELS
  );
}

function prepared(pixels: Uint8Array, plan: ResizePlan, probed: ProbedImage): PreparedImage {
  return { pixels, ...described(plan, probed) };
}

/** Everything about a prepared image but its pixels. */
function described(plan: ResizePlan, probed: ProbedImage): Omit<PreparedImage, 'pixels'> {
  return {
    width: plan.tensor.width,
    height: plan.tensor.height,
    original: probed.oriented,
    transform: plan.transform,
    content: { x: plan.left, y: plan.top, width: plan.content.width, height: plan.content.height },
    format: probed.format,
    mediaType: probed.mediaType,
  };
}
