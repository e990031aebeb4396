/**
 * How a model wants its input image: target size, resize mode, padding and channel order.
 * The model manifest validator reuses this type and `imageInputSpecProblems`.
 *
 * Resize modes (W0×H0 is the image after EXIF orientation):
 *
 * - `stretch`: resize to exactly `width`×`height`, ignoring aspect. No padding.
 * - `letterbox`: keep aspect; r = min(width/W0, height/H0); content is round(W0·r)×round(H0·r)
 *   (at least 1 px), centred; the left/top pad is floor(total/2), the right/bottom pad takes the rest;
 *   pad colour `padValue` (default 114). Upscales small images (as YOLO's letterbox does).
 * - `pad-to-multiple` (PaddleOCR DB `DetResizeForTest`, limit type "max"): r = min(1, maxSide/max(W0,H0));
 *   each side becomes max(multiple, round(trunc(side·r)/multiple)·multiple), capped at maxSide rounded down
 *   to a multiple. Each side is resized to its own multiple, so x and y scales differ slightly; nothing
 *   is padded. `width`/`height` must be absent. Defaults: multiple 32, maxSide 960.
 * - `fit-height` (PP-OCR recogniser and direction classifier): height is fixed to `height`; the content
 *   width is min(maxWidth, ceil(height·W0/H0)) (at least 1 px), keeping aspect; the image is right-padded
 *   with `padValue` (default 0) up to the tensor width. With `width` set, the tensor width is fixed to it
 *   and maxWidth = width (classifier: 3×48×192). Without `width`, maxWidth is `maxSide` (default 960)
 *   rounded down to a multiple, and the tensor width is the content width rounded up to `multiple`
 *   (default 1) (recogniser: 3×48×W).
 */
export type ResizeMode = 'stretch' | 'letterbox' | 'pad-to-multiple' | 'fit-height';
export type ColorOrder = 'RGB' | 'BGR';
/** libvips resampling kernels; `linear` is the default (the models here were trained with bilinear resizes). */
export type ResizeKernel = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

export interface ImageInputSpec {
  /** Fixed target width; absent = dynamic (pad-to-multiple, fit-height). */
  width?: number;
  /** Fixed target height; absent = dynamic (pad-to-multiple only). */
  height?: number;
  resize: ResizeMode;
  /** pad-to-multiple: sides become multiples of this (default 32). fit-height without width: tensor width rounds up to it (default 1). */
  multiple?: number;
  /** pad-to-multiple: cap on the longer side before rounding. fit-height without width: cap on the width. Default 960. */
  maxSide?: number;
  /** 0..255, the same in every channel: letterbox/right pad colour (default 114 letterbox, 0 otherwise). */
  padValue?: number;
  colorOrder: ColorOrder;
  /** RGB (in that order, whatever `colorOrder` is) that transparent pixels are flattened onto; default white. */
  background?: readonly [number, number, number];
  /** Resampling kernel; default `linear`. */
  kernel?: ResizeKernel;
}

export const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'letterbox', 'pad-to-multiple', 'fit-height'];
export const RESIZE_KERNELS: readonly ResizeKernel[] = ['nearest', 'linear', 'cubic', 'lanczos3'];

export const DEFAULT_MULTIPLE = 32;
export const DEFAULT_MAX_SIDE = 960;
export const DEFAULT_LETTERBOX_PAD = 114;
export const DEFAULT_PAD = 0;
export const DEFAULT_BACKGROUND: readonly [number, number, number] = [255, 255, 255];
/** No tensor side may exceed this: a typo in a manifest must not ask for a gigapixel tensor. */
export const MAX_TENSOR_SIDE = 16384;

const isPositiveInt = (v: unknown, max = MAX_TENSOR_SIDE): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;
const isByte = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;

/**
 * Everything wrong with a spec, one message per problem naming the field; empty when the spec is usable.
 * Checks values and the combinations each resize mode needs.
 */
export function imageInputSpecProblems(spec: ImageInputSpec): string[] {
  const problems: string[] = [];
  const s = spec as unknown as Record<string, unknown>;
  if (!RESIZE_MODES.includes(spec.resize)) problems.push(`resize must be one of ${RESIZE_MODES.join(', ')}`);
  if (spec.colorOrder !== 'RGB' && spec.colorOrder !== 'BGR') problems.push('colorOrder must be RGB or BGR');
  for (const field of ['width', 'height', 'maxSide'] as const) {
    if (s[field] !== undefined && !isPositiveInt(s[field])) problems.push(`${field} must be an integer in 1..${MAX_TENSOR_SIDE}`);
  }
  if (s.multiple !== undefined && !isPositiveInt(s.multiple, 1024)) problems.push('multiple must be an integer in 1..1024');
  if (s.padValue !== undefined && !isByte(s.padValue)) problems.push('padValue must be an integer in 0..255');
  if (s.background !== undefined) {
    const bg = s.background;
    if (!Array.isArray(bg) || bg.length !== 3 || !bg.every(isByte)) problems.push('background must be three integers in 0..255');
  }
  if (s.kernel !== undefined && !RESIZE_KERNELS.includes(spec.kernel as ResizeKernel)) {
    problems.push(`kernel must be one of ${RESIZE_KERNELS.join(', ')}`);
  }
  switch (spec.resize) {
    case 'stretch':
    case 'letterbox':
      if (spec.width === undefined || spec.height === undefined) problems.push(`resize "${spec.resize}" needs width and height`);
      break;
    case 'pad-to-multiple': {
      if (spec.width !== undefined || spec.height !== undefined) problems.push('resize "pad-to-multiple" takes no width or height');
      const multiple = spec.multiple ?? DEFAULT_MULTIPLE;
      if ((spec.maxSide ?? DEFAULT_MAX_SIDE) < multiple) problems.push('maxSide must be at least multiple');
      break;
    }
    case 'fit-height':
      if (spec.height === undefined) problems.push('resize "fit-height" needs height');
      if (spec.width === undefined && (spec.maxSide ?? DEFAULT_MAX_SIDE) < (spec.multiple ?? 1)) {
        problems.push('maxSide must be at least multiple');
      }
      break;
  }
  return problems;
}

/** Throws (a programming/config error, not a client error) when the spec is unusable. */
export function assertImageInputSpec(spec: ImageInputSpec): void {
  const problems = imageInputSpecProblems(spec);
  if (problems.length > 0) throw new Error(`invalid image input spec: ${problems.join('; ')}`);
}
