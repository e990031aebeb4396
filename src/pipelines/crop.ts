import sharp from 'sharp';
import type { BoxXYXY } from '../heads/types.js';
import type { DecodedImage } from '../imaging/raster-input.js';
import type { CropStep } from './manifest.js';
import { boxQuad, growQuad, quadSize, uprightQuad, type Point, type Quad } from './quad.js';
import type { Crop, Slot } from './step-values.js';
import { warpQuad } from './warp.js';

/** A region of a predict answer: what crop steps read from `regions`, `detections` or `polygons`. */
interface Region {
  box?: BoxXYXY;
  bbox?: BoxXYXY;
  points?: Point[];
  score?: number;
  label?: string;
}

const LISTS = ['regions', 'detections', 'polygons'] as const;

/** The regions of an answer: the list the step names, or the first of regions/detections/polygons it has. */
export function regionsOf(answer: unknown, step: CropStep): Region[] {
  const a = (answer ?? {}) as Record<string, unknown>;
  const field = step.field ?? LISTS.find((f) => Array.isArray(a[f]));
  const list = field === undefined ? undefined : a[field];
  if (!Array.isArray(list)) {
    throw new Error(`step "${step.from}" answered no ${step.field ?? 'regions, detections or polygons'} to crop`);
  }
  return (list as Region[]).filter(
    (r) =>
      (step.labels === undefined || (r.label !== undefined && step.labels.includes(r.label))) &&
      (step.minScore === undefined || (r.score ?? 0) >= step.minScore),
  );
}

/** The fields of a region an answer may show (score, label), without its geometry. */
function regionFields(r: Region): Record<string, unknown> {
  const { box: _box, bbox: _bbox, points: _points, ...rest } = r as Region & Record<string, unknown>;
  return rest;
}

const errorSlot = (step: string, message: string, quad?: Quad): Slot<Crop> => ({
  ok: false,
  error: { step, code: 'crop_failed', message },
  ...(quad ? { quad } : {}),
});

/**
 * Cuts each region out of the image. Upright: the region's minimum-area rectangle, read along
 * its side nearer horizontal, warped (perspective, bilinear) to `height` with the width keeping
 * its aspect; otherwise the axis-aligned box, cut by libvips (off the main thread) and scaled
 * to `height` when one is given; either grown first by `margin` × its height on every side.
 * A region too small to cut marks only its own crop.
 */
export async function cropRegions(image: DecodedImage, regions: readonly Region[], step: CropStep, height: number | undefined): Promise<Slot<Crop>[]> {
  const out: Slot<Crop>[] = [];
  let slice = performance.now();
  for (const r of regions) {
    out.push(await cropOne(image, r, step, height));
    // Warps run on this thread (about 0.4 ms for a 480×48 line): other requests get the event loop between them.
    if (performance.now() - slice > YIELD_AFTER_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    }
  }
  return out;
}

/** Longest stretch of warping before the event loop is given back. */
const YIELD_AFTER_MS = 1;

async function cropOne(image: DecodedImage, r: Region, step: CropStep, height: number | undefined): Promise<Slot<Crop>> {
  const box = r.box ?? r.bbox;
  const shape = r.points && r.points.length >= 3 ? r.points : box ? boxQuad(box) : undefined;
  if (shape === undefined) return errorSlot(step.id, 'the region has no box or points');
  const quad = step.upright ? uprightQuad(shape) : boxQuad(box ?? boundsOfPoints(shape));
  const region = quadSize(quad);
  if (!(region.width >= 1 && region.height >= 1))
    return errorSlot(step.id, `the region is ${region.width.toFixed(1)}×${region.height.toFixed(1)} pixels, too small to crop`, quad);
  const cut = growQuad(quad, step.margin * region.height);
  const size = quadSize(cut);
  const h = height ?? Math.max(1, Math.round(size.height));
  const w = Math.min(step.maxWidth, Math.max(1, Math.round((h * size.width) / size.height)));
  try {
    const pixels = step.upright ? warpQuad(image, cut, w, h) : await cutBox(image, cut, w, h);
    return { ok: true, value: { image: { ...pixels, format: image.format, mediaType: image.mediaType }, quad, region: regionFields(r), turned: 0 } };
  } catch (err) {
    return errorSlot(step.id, (err as Error).message, quad);
  }
}

function boundsOfPoints(points: readonly Point[]): BoxXYXY {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** An axis-aligned box cut by libvips at whole pixels (it covers every pixel the box touches), then scaled to w × h. */
async function cutBox(image: DecodedImage, quad: Quad, w: number, h: number): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  const left = Math.max(0, Math.floor(quad[0][0]));
  const top = Math.max(0, Math.floor(quad[0][1]));
  const right = Math.min(image.width, Math.ceil(quad[2][0]));
  const bottom = Math.min(image.height, Math.ceil(quad[2][1]));
  if (right <= left || bottom <= top) throw new Error('the region lies outside the image');
  const { data, info } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: right - left, height: bottom - top })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
