import { type PackedRegions, type Region, REGION_FIELDS, RegionField } from './types.js';

/** Builds `Region` objects over the packed tables; rings are views into `packed.coords`. */
export function unpackRegions(packed: PackedRegions): Region[] {
  const { coords, rings, regions, scored } = packed;
  const count = regions.length / REGION_FIELDS;
  const out = new Array<Region>(count);
  for (let i = 0; i < count; i++) {
    const base = i * REGION_FIELDS;
    const firstRing = regions[base + RegionField.firstRing];
    const ringCount = regions[base + RegionField.ringCount];
    const outer = ring(coords, rings, firstRing);
    const holes: Float64Array[] = [];
    for (let h = 1; h < ringCount; h++) holes.push(ring(coords, rings, firstRing + h));
    const region: Region = {
      label: regions[base + RegionField.label],
      outer,
      holes,
      area: regions[base + RegionField.area],
      bbox: [regions[base + RegionField.minX], regions[base + RegionField.minY], regions[base + RegionField.maxX], regions[base + RegionField.maxY]],
    };
    if (scored) region.score = regions[base + RegionField.score]!;
    out[i] = region;
  }
  return out;
}

function ring(coords: Float64Array, rings: Uint32Array, index: number): Float64Array {
  const start = rings[2 * index];
  return coords.subarray(start, start + 2 * rings[2 * index + 1]);
}
