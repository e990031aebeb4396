import { extractContours } from './contour-extraction.js';
import { assembleRegions } from './region-assembly.js';
import { type PolygonRequest, readRequest } from './request.js';
import type { PackedRegions, PolygonInput, PolygonOptions } from './types.js';

/**
 * The TypeScript implementation: the reference the addon is tested against and the fallback
 * when the addon is unavailable. Same contract, same results, same errors as the addon.
 */
export function findPolygonsPacked(input: PolygonInput, options?: PolygonOptions): PackedRegions {
  return runRequest(readRequest(input, options));
}

/** Runs an already validated request. */
export function runRequest(request: PolygonRequest): PackedRegions {
  return assembleRegions(extractContours(request), request.options);
}
