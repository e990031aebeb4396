import { DEFAULT_LETTERBOX_PAD, DEFAULT_MAX_SIDE, DEFAULT_MULTIPLE, DEFAULT_PAD, type ImageInputSpec } from './input-spec.js';
import type { ResampleTarget } from './resample.js';
import type { ImageTransform, Size } from './transform.js';

/**
 * Where the resized image goes inside the tensor: resize the original to `content`, then pad
 * `left/top/right/bottom` with `padValue` to reach `tensor`. Pure arithmetic, no pixels.
 */
export interface ResizePlan {
  content: Size;
  tensor: Size;
  left: number;
  top: number;
  right: number;
  bottom: number;
  padValue: number;
  transform: ImageTransform;
}

const roundUpTo = (v: number, m: number) => Math.ceil(v / m) * m;
const floorTo = (v: number, m: number) => Math.floor(v / m) * m;

/** Computes the plan for one image; see `ImageInputSpec` for the semantics of each mode. The spec must be valid. */
export function planResize(original: Size, spec: ImageInputSpec): ResizePlan {
  const { width: w0, height: h0 } = original;
  if (!(w0 >= 1 && h0 >= 1)) throw new Error(`image has no pixels (${w0}×${h0})`);
  switch (spec.resize) {
    case 'stretch': {
      const w = spec.width!;
      const h = spec.height!;
      return plan(original, { width: w, height: h }, { width: w, height: h }, 0, 0, DEFAULT_PAD);
    }
    case 'letterbox': {
      const w = spec.width!;
      const h = spec.height!;
      const r = Math.min(w / w0, h / h0);
      const cw = Math.min(w, Math.max(1, Math.round(w0 * r)));
      const ch = Math.min(h, Math.max(1, Math.round(h0 * r)));
      const left = Math.floor((w - cw) / 2);
      const top = Math.floor((h - ch) / 2);
      return plan(original, { width: cw, height: ch }, { width: w, height: h }, left, top, spec.padValue ?? DEFAULT_LETTERBOX_PAD);
    }
    case 'pad-to-multiple': {
      const m = spec.multiple ?? DEFAULT_MULTIPLE;
      const maxSide = spec.maxSide ?? DEFAULT_MAX_SIDE;
      const cap = Math.max(m, floorTo(maxSide, m));
      const r = Math.max(w0, h0) > maxSide ? maxSide / Math.max(w0, h0) : 1;
      // PaddleOCR truncates the scaled side, then rounds to the nearest multiple (never below one multiple).
      const side = (s: number) => Math.min(cap, Math.max(m, Math.round(Math.trunc(s * r) / m) * m));
      const size = { width: side(w0), height: side(h0) };
      return plan(original, size, size, 0, 0, DEFAULT_PAD);
    }
    case 'fit-height': {
      const h = spec.height!;
      const padValue = spec.padValue ?? DEFAULT_PAD;
      const natural = Math.max(1, Math.ceil((h * w0) / h0));
      if (spec.width !== undefined) {
        const cw = Math.min(spec.width, natural);
        return plan(original, { width: cw, height: h }, { width: spec.width, height: h }, 0, 0, padValue);
      }
      const m = spec.multiple ?? 1;
      const maxWidth = Math.max(m, floorTo(spec.maxSide ?? DEFAULT_MAX_SIDE, m));
      const cw = Math.min(maxWidth, natural);
      return plan(original, { width: cw, height: h }, { width: roundUpTo(cw, m), height: h }, 0, 0, padValue);
    }
    default:
      throw new Error(`unknown resize mode ${String((spec as { resize: unknown }).resize)}`);
  }
}

function plan(original: Size, content: Size, tensor: Size, left: number, top: number, padValue: number): ResizePlan {
  return {
    content,
    tensor,
    left,
    top,
    right: tensor.width - content.width - left,
    bottom: tensor.height - content.height - top,
    padValue,
    // The realised per-axis scale (after rounding to whole pixels), so mapping back is exact for the content edges.
    transform: {
      scaleX: content.width / original.width,
      scaleY: content.height / original.height,
      padX: left,
      padY: top,
    },
  };
}

/** The plan as the worker's resampler takes it, with `background` for flattening alpha. */
export function resampleTargetOf(plan: ResizePlan, background: readonly [number, number, number]): ResampleTarget {
  return { width: plan.tensor.width, height: plan.tensor.height, content: { x: plan.left, y: plan.top, ...plan.content }, padValue: plan.padValue, background };
}
