import { z } from 'zod';
import { findPolygons, type PolygonInput } from '../polygons/index.js';
import { labelsOption, outputOption, positiveCount, unitInterval } from './common-options.js';
import { outputMismatch } from './output-error.js';
import { boundsOf, PolygonMapper, ringArea, type Point } from './polygon-mapping.js';
import { float32Data, numericData, outputDims } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';
import type { BoxXYXY } from './types.js';

const TASK = 'segment';

export const segmentOptions = z.strictObject({
  /** Class names by channel index (logits) or `[background, foreground]` for a probability map. */
  labels: labelsOption,
  /** `auto`: `[1, 1, H, W]` is a probability map, `[1, C, H, W]` with C > 1 is per-class logits (argmax). */
  mode: z.enum(['auto', 'argmax', 'probability']).default('auto'),
  /** Probability maps: foreground is p > threshold (compared in float32, the map's precision). */
  threshold: unitInterval(0.5),
  /** Channel index that is background and yields no polygons (argmax). */
  background: z.number().int().min(0).default(0),
  /** Douglas–Peucker tolerance in map pixels (0: exact contours). */
  epsilon: z.number().min(0).optional(),
  /** Tolerance as a fraction of each ring's perimeter; replaces `epsilon`. */
  epsilonRatio: z.number().positive().max(1).optional(),
  /** Regions smaller than this (map pixels², pixel-centre outlines, after simplification) are dropped. */
  minArea: z.number().min(0).default(0),
  /** At most this many polygons per label, the largest ones. */
  maxPolygons: positiveCount(100),
  output: outputOption,
});
export type SegmentOptions = z.output<typeof segmentOptions>;

export interface SegmentPolygon {
  label: string;
  /** Mean probability inside the region (probability maps only). */
  score?: number;
  points: Point[];
  holes: Point[][];
  /** Area of `points` minus that of `holes`, original pixels². */
  area: number;
  bbox: BoxXYXY;
}

export interface SegmentAnswer {
  polygons: SegmentPolygon[];
}

/**
 * Semantic segmentation: per-class logits `[1, C, H, W]` (argmax → label map) or a probability map
 * `[1, 1, H, W]` (threshold), traced into polygons with holes, largest first, in original pixels.
 */
export const segmentHead = tensorHead(TASK, segmentOptions, (tensor, geometry, options): SegmentAnswer => {
  const [, channels, height, width] = outputDims(TASK, tensor, [1, 'C', 'H', 'W']);
  const probability = options.mode === 'probability' || (options.mode === 'auto' && channels === 1);

  let input: PolygonInput;
  if (probability) {
    if (channels !== 1) throw outputMismatch(TASK, `probability mode needs one channel, got ${channels}`);
    if (options.labels.length > 2) {
      throw outputMismatch(
        TASK,
        `a probability map has one class but ${options.labels.length} labels are configured (want [foreground] or [background, foreground])`,
      );
    }
    // Rounded like the map's values, so a pixel stored as the threshold itself is not above it.
    input = { kind: 'probability', data: float32Data(TASK, tensor), width, height, threshold: Math.fround(options.threshold) };
  } else {
    if (channels !== options.labels.length) {
      throw outputMismatch(TASK, `model has ${channels} classes but ${options.labels.length} labels are configured`);
    }
    input = { kind: 'labels', data: argmax(numericData(TASK, tensor), channels, width * height), width, height, background: options.background };
  }

  const regions = findPolygons(input, {
    ...(options.epsilonRatio !== undefined ? { epsilonRatio: options.epsilonRatio } : { epsilon: options.epsilon ?? 0 }),
    minArea: options.minArea,
    maxPolygons: options.maxPolygons,
  });
  const mapper = new PolygonMapper(geometry, width, height);
  const polygons: SegmentPolygon[] = [];
  for (const region of regions) {
    // A region in the letterbox padding covers no image pixel; clamped, it would be a flat line.
    if (mapper.outsideImage(region.outer)) continue;
    const points = mapper.ring(region.outer);
    const holes = region.holes.filter((h) => !mapper.outsideImage(h)).map((h) => mapper.ring(h));
    polygons.push({
      label: probability ? options.labels[options.labels.length - 1] : options.labels[region.label],
      ...(region.score !== undefined ? { score: region.score } : {}),
      points,
      holes,
      // Measured on the returned rings, so it agrees with them where clamping cut a region.
      area: holes.reduce((sum, h) => sum - ringArea(h), ringArea(points)),
      bbox: boundsOf(points),
    });
  }
  polygons.sort((a, b) => b.area - a.area);
  return { polygons };
});

/** Per-pixel class of highest score; ties go to the lower channel. */
function argmax(data: ArrayLike<number>, channels: number, plane: number): Int32Array {
  const out = new Int32Array(plane);
  for (let p = 0; p < plane; p++) {
    let best = data[p];
    let bestC = 0;
    for (let c = 1; c < channels; c++) {
      const v = data[c * plane + p];
      if (v > best) {
        best = v;
        bestC = c;
      }
    }
    out[p] = bestC;
  }
  return out;
}
