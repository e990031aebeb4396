import sharp from 'sharp';
import { unprocessableImage } from '../errors.js';
import { assertImageInputSpec, DEFAULT_BACKGROUND, type ImageInputSpec } from './input-spec.js';
import { DEFAULT_IMAGE_LIMITS, probeImage, type ImageLimits } from './probe.js';
import { planResize } from './resize-plan.js';
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


const shortMessage = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);

/**
 * Decodes, validates and resizes one uploaded image for a model.
 * Errors: 400 empty, 413 too many bytes/pixels, 415 not a supported image type, 422 undecodable.
 * EXIF orientation is applied, only the first frame of animated/multi-page images is used, alpha is
 * flattened onto `spec.background`, and the result always has 3 channels in RGB order; a model's
 * BGR order is applied when the worker fills the tensor, where it costs nothing (a recomb here
 * costs libvips a float pass per image).
 * All pixel work runs in libvips' threads; the calling thread only parses the header.
 */
export async function prepareImage(
  bytes: Uint8Array,
  spec: ImageInputSpec,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
): Promise<PreparedImage> {
  assertImageInputSpec(spec);
  const probed = await probeImage(bytes, limits);
  const plan = planResize(probed.oriented, spec);
  const [r, g, b] = spec.background ?? DEFAULT_BACKGROUND;
  const pad = plan.padValue;

  let pipeline = sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: 'error', pages: 1 })
    .autoOrient();
  // Flattening only matters with alpha; skipping it saves libvips an operation per image.
  if (probed.hasAlpha) pipeline = pipeline.flatten({ background: { r, g, b } });
  pipeline = pipeline.resize(plan.content.width, plan.content.height, { fit: 'fill', kernel: spec.kernel ?? 'linear' });
  if (plan.left > 0 || plan.top > 0 || plan.right > 0 || plan.bottom > 0) {
    pipeline = pipeline.extend({
      left: plan.left,
      top: plan.top,
      right: plan.right,
      bottom: plan.bottom,
      background: { r: pad, g: pad, b: pad },
    });
  }
  pipeline = pipeline.removeAlpha();
  // Greyscale, CMYK and 16-bit inputs all end as 8-bit sRGB.
  pipeline = pipeline.toColourspace('srgb').raw({ depth: 'uchar' });

  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw unprocessableImage(`could not decode the ${probed.format} image: ${shortMessage(err)}`);
  }
  const { data, info } = out;
  if (info.width !== plan.tensor.width || info.height !== plan.tensor.height || info.channels !== 3) {
    // A mismatch here is a bug in the plan or in how it is handed to libvips, not bad input.
    throw new Error(
      `decoded ${info.width}×${info.height}×${info.channels}, expected ${plan.tensor.width}×${plan.tensor.height}×3`,
    );
  }
  return {
    pixels: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    original: probed.oriented,
    transform: plan.transform,
    content: { x: plan.left, y: plan.top, width: plan.content.width, height: plan.content.height },
    format: probed.format,
    mediaType: probed.mediaType,
  };
}
