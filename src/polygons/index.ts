import { loadNativeAddon } from './native-addon.js';
import { findPolygonsPacked } from './reference.js';
import { findPolygonsPackedAsync } from './reference-async.js';
import type { PackedRegions, PolygonImplementation, PolygonInput, PolygonOptions, Region } from './types.js';
import { unpackRegions } from './unpack.js';

/**
 * Mask → polygons. The native addon is used when it loaded; otherwise, or when
 * SIGHTLINE_POLYGONS=typescript, the TypeScript implementation (same results, slower).
 * SIGHTLINE_POLYGONS=native makes a missing addon an error instead of a silent fallback.
 */

export type {
  LabelInput,
  MaskInput,
  PackedRegions,
  PolygonImplementation,
  PolygonInput,
  PolygonOptions,
  ProbabilityInput,
  Region,
} from './types.js';
export { unpackRegions } from './unpack.js';

interface Selected {
  name: PolygonImplementation;
  sync: (input: PolygonInput, options?: PolygonOptions) => PackedRegions;
  async: (input: PolygonInput, options?: PolygonOptions) => Promise<PackedRegions>;
}

let selected: Selected | undefined;

function select(): Selected {
  if (selected !== undefined) return selected;
  const wanted = process.env.SIGHTLINE_POLYGONS ?? '';
  if (wanted !== '' && wanted !== 'native' && wanted !== 'typescript') {
    throw new Error(`SIGHTLINE_POLYGONS must be 'native' or 'typescript' (got '${wanted}')`);
  }
  if (wanted !== 'typescript') {
    const { addon, error } = loadNativeAddon();
    if (addon !== null) {
      selected = {
        name: 'native',
        sync: (input, options) => addon.findPolygons(input, options),
        async: (input, options) => addon.findPolygonsAsync(input, options),
      };
      return selected;
    }
    if (wanted === 'native') throw new Error(`SIGHTLINE_POLYGONS=native but the addon did not load: ${error.message}`);
  }
  selected = { name: 'typescript', sync: findPolygonsPacked, async: findPolygonsPackedAsync };
  return selected;
}

/** Which implementation serves findPolygons in this thread. */
export function polygonImplementation(): PolygonImplementation {
  return select().name;
}

/**
 * Traces regions synchronously: meant for worker threads. Throws TypeError / RangeError for bad
 * input.
 */
export function findPolygons(input: PolygonInput, options?: PolygonOptions): Region[] {
  return unpackRegions(select().sync(input, options));
}

/**
 * Traces regions off the calling thread; bad input rejects with TypeError / RangeError. With the
 * addon, `input.data` is read in place: do not write to, transfer or detach it until the promise
 * settles.
 */
export function findPolygonsAsync(input: PolygonInput, options?: PolygonOptions): Promise<Region[]> {
  let implementation: Selected;
  try {
    implementation = select();
  } catch (err) {
    return Promise.reject(err);
  }
  return implementation.async(input, options).then(unpackRegions);
}
