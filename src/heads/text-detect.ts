import { z } from 'zod';
import { isEmptyBox } from './box-mapping.js';
import { outputOption, positiveCount, unitInterval } from './common-options.js';
import { findPolygons } from '../polygons/index.js';
import { boundsOf, PolygonMapper, type Point } from './polygon-mapping.js';
import { sortReadingOrder } from './reading-order.js';
import { float32Data, outputDims } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';
import type { BoxXYXY } from './types.js';

const TASK = 'text-detect';

export const textDetectOptions = z.strictObject({
  /** A map pixel is text when its probability is strictly above this (compared in float32, the map's precision). */
  threshold: unitInterval(0.3),
  /** Minimum mean probability over a component's pixels (inclusive). */
  boxThreshold: unitInterval(0.6),
  /** DB unclip: each side moves outward by area × ratio / perimeter of the component's box. */
  unclipRatio: z.number().positive().default(1.5),
  /** Regions whose unclipped box is shorter than minSize + 2 map pixels on one side are dropped (PaddleOCR's rule). */
  minSize: z.number().int().min(1).default(3),
  /** At most this many regions, the largest, are examined; the size and score filters come after (as in PaddleOCR). */
  maxCandidates: positiveCount(1000),
  output: outputOption,
});
export type TextDetectOptions = z.output<typeof textDetectOptions>;

export type { Point };

export interface TextRegion {
  /** Bounding box of `points`, `[x1, y1, x2, y2]` in original image pixels. */
  box: BoxXYXY;
  /** Mean probability over the region's pixels. */
  score: number;
  /** The unclipped text polygon in original pixels, counter-clockwise on screen (y down). */
  points: Point[];
}

export interface TextDetectAnswer {
  /** In reading order: see sortReadingOrder. */
  regions: TextRegion[];
}

/**
 * DB post-processing of a probability map `[1, 1, H, W]` (PP-OCR): threshold, trace each text
 * region's contour (the polygon addon), simplify (0.2 % of the perimeter, as PaddleOCR does), grow
 * each polygon by area × unclipRatio / perimeter, drop regions that stay thinner than minSize + 2 or
 * whose mean probability is under `boxThreshold`, and map the rest to original pixels.
 */
export const textDetectHead = tensorHead(TASK, textDetectOptions, (tensor, geometry, options): TextDetectAnswer => {
  const [, , height, width] = outputDims(TASK, tensor, [1, 1, 'H', 'W']);
  const map = float32Data(TASK, tensor);
  // The score is the mean probability over the traced component, whatever the unclip adds.
  const grown = findPolygons(
    // The map holds float32 values: a pixel stored as 0.3 must not count as above a threshold of 0.3
    // (float32(0.3) > 0.3 in double), so the threshold is rounded the same way, as numpy does for PaddleOCR.
    { kind: 'probability', data: map, width, height, threshold: Math.fround(options.threshold) },
    { epsilonRatio: 0.002, maxPolygons: options.maxCandidates, unclipRatio: options.unclipRatio },
  );
  const mapper = new PolygonMapper(geometry, width, height);
  const regions: TextRegion[] = [];
  for (const region of grown) {
    const [minX, minY, maxX, maxY] = region.bbox;
    // PaddleOCR's check after unclip: the grown box must be at least minSize + 2 on its short side.
    if (Math.min(maxX - minX, maxY - minY) < options.minSize + 2) continue;
    if ((region.score ?? 0) < options.boxThreshold) continue;
    const points = mapper.ring(region.outer);
    const box = boundsOf(points);
    if (isEmptyBox(box)) continue;
    regions.push({ box, score: region.score ?? 0, points });
  }
  return { regions: sortReadingOrder(regions) };
});
