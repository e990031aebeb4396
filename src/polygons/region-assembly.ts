import type { ExtractedContours } from './contour-extraction.js';
import type { NormalizedOptions } from './request.js';
import { perimeter, shoelace2 } from './ring-measure.js';
import { unclipRing } from './ring-offset.js';
import { simplifyRing } from './ring-simplify.js';
import { type PackedRegions, REGION_FIELDS } from './types.js';

/**
 * Turns traced contours into packed regions: simplification, areas, filtering, ordering,
 * unclip. Mirrors native/region_assembly.cc.
 *
 * Regions come out label by label (ascending), largest area first within a label (ties in
 * raster order of the outer border's first pixel), at most `maxPolygons` per label.
 */
export function assembleRegions(traced: ExtractedContours, options: NormalizedOptions): PackedRegions {
  const t = traced.tracer;
  const contourCount = t.contourStart.length;
  const componentCount = traced.componentOuter.length;

  // Holes grouped by component, in the order they were found.
  const holeStart = new Uint32Array(componentCount + 1);
  for (let i = 0; i < contourCount; i++) if (t.contourHole[i]) holeStart[traced.contourComponent[i] + 1]++;
  for (let i = 0; i < componentCount; i++) holeStart[i + 1] += holeStart[i];
  const holes = new Uint32Array(holeStart[componentCount]);
  const fill = holeStart.slice(0, componentCount);
  for (let i = 0; i < contourCount; i++) if (t.contourHole[i]) holes[fill[traced.contourComponent[i]]++] = i;

  // Every ring as (array, offset in numbers, count), simplified when asked.
  const simplify = options.epsilon > 0 || options.epsilonRatio > 0;
  let ringData: ArrayLike<number> = t.points;
  const ringOffset = new Float64Array(contourCount);
  const ringCount = new Float64Array(contourCount);
  if (simplify) {
    const simplified: number[] = [];
    for (let i = 0; i < contourCount; i++) {
      const offset = 2 * t.contourStart[i];
      const count = t.contourCount[i];
      const epsilon = options.epsilonRatio > 0 ? options.epsilonRatio * perimeter(t.points, offset, count) : options.epsilon;
      ringOffset[i] = simplified.length;
      ringCount[i] = simplifyRing(t.points, offset, count, epsilon, simplified);
    }
    ringData = simplified;
  } else {
    for (let i = 0; i < contourCount; i++) {
      ringOffset[i] = 2 * t.contourStart[i];
      ringCount[i] = t.contourCount[i]!;
    }
  }

  // Areas (holes subtracted) and the minArea filter.
  const drafts: { component: number; area: number }[] = [];
  for (let k = 0; k < componentCount; k++) {
    const outer = traced.componentOuter[k];
    let area = Math.abs(shoelace2(ringData, ringOffset[outer], ringCount[outer])) / 2;
    for (let h = holeStart[k]; h < holeStart[k + 1]; h++) {
      const hole = holes[h];
      area -= Math.abs(shoelace2(ringData, ringOffset[hole], ringCount[hole])) / 2;
    }
    if (area >= options.minArea) drafts.push({ component: k, area });
  }

  // Largest first within each label (Array.prototype.sort is stable); labels arrive grouped.
  const chosen: { component: number; area: number }[] = [];
  let begin = 0;
  while (begin < drafts.length) {
    const label = traced.componentLabel[drafts[begin].component];
    let end = begin;
    while (end < drafts.length && traced.componentLabel[drafts[end].component] === label) end++;
    const group = drafts.slice(begin, end).sort((a, b) => (a.area > b.area ? -1 : a.area < b.area ? 1 : 0));
    const take = options.maxPolygons > 0 && options.maxPolygons < group.length ? options.maxPolygons : group.length;
    for (let i = 0; i < take; i++) chosen.push(group[i]);
    begin = end;
  }

  const coords: number[] = [];
  const rings: number[] = [];
  const regions = new Float64Array(chosen.length * REGION_FIELDS);
  chosen.forEach((draft, index) => {
    const k = draft.component;
    const outer = traced.componentOuter[k];
    const firstRing = rings.length / 2;
    const outerStart = coords.length;
    let area = draft.area;
    let count = 1;
    if (options.unclipRatio > 0) {
      const points = unclipRing(ringData, ringOffset[outer], ringCount[outer], options.unclipRatio, coords);
      rings.push(outerStart, points);
      area = Math.abs(shoelace2(coords, outerStart, points)) / 2;
    } else {
      appendRing(ringData, ringOffset[outer], ringCount[outer], coords);
      rings.push(outerStart, ringCount[outer]);
      for (let h = holeStart[k]; h < holeStart[k + 1]; h++) {
        const hole = holes[h];
        rings.push(coords.length, ringCount[hole]);
        appendRing(ringData, ringOffset[hole], ringCount[hole], coords);
        count++;
      }
    }
    const outerCount = rings[2 * firstRing + 1];
    let minX = Infinity,
      minY = Infinity,
      maxX = -Infinity,
      maxY = -Infinity;
    for (let i = 0; i < outerCount; i++) {
      const x = coords[outerStart + 2 * i];
      const y = coords[outerStart + 2 * i + 1];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const pixels = traced.componentPixels[k];
    const score = traced.scored && pixels > 0 ? traced.componentSum[k] / pixels : NaN;
    regions.set([traced.componentLabel[k], area, minX, minY, maxX, maxY, score, firstRing, count], index * REGION_FIELDS);
  });
  return {
    coords: Float64Array.from(coords),
    rings: Uint32Array.from(rings),
    regions,
    scored: traced.scored,
  };
}

function appendRing(data: ArrayLike<number>, offset: number, count: number, out: number[]): void {
  for (let i = 0; i < 2 * count; i++) out.push(data[offset + i]);
}
