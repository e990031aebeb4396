import type sharp from 'sharp';
import type { ResizeKernel } from './input-spec.js';
import type { ResizePlan } from './resize-plan.js';

/** The plan carried out by libvips: resize to `content`, then pad with `padValue` where the plan has padding. */
export function resizeByPlan(pipeline: sharp.Sharp, plan: ResizePlan, kernel: ResizeKernel): sharp.Sharp {
  const resized = pipeline.resize(plan.content.width, plan.content.height, { fit: 'fill', kernel });
  if (!(plan.left > 0 || plan.top > 0 || plan.right > 0 || plan.bottom > 0)) return resized;
  const pad = plan.padValue;
  return resized.extend({ left: plan.left, top: plan.top, right: plan.right, bottom: plan.bottom, background: { r: pad, g: pad, b: pad } });
}
