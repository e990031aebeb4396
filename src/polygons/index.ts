import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { loadNativeAddon, type NativeAddon } from './native-addon.js';
import { findPolygonsPacked } from './reference.js';
import { findPolygonsPackedAsync } from './reference-async.js';
import {
  POLYGON_CHOICES,
  type PackedRegions,
  type PolygonChoice,
  type PolygonImplementation,
  type PolygonInput,
  type PolygonOptions,
  type Region,
} from './types.js';
import { unpackRegions } from './unpack.js';

/**
 * Mask → polygons. The native addon is used when it loaded; otherwise, or when the server's
 * `polygons` setting is `typescript`, the TypeScript implementation (same results, slower).
 * `native` makes a missing addon an error instead of a silent fallback.
 */

export { POLYGON_CHOICES } from './types.js';
export type {
  LabelInput,
  MaskInput,
  PackedRegions,
  PolygonChoice,
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

/** Environment data key: worker threads started after a choice inherit it (see usePolygonImplementation). */
const CHOICE_KEY = 'sightline:polygons';

let selected: Selected | undefined;

function pick(choice: PolygonChoice): Selected {
  if (choice !== 'typescript') {
    const { addon, error } = loadNativeAddon();
    if (addon !== null) return nativeImplementation(addon);
    if (choice === 'native') throw new Error(`the native polygon addon did not load: ${error.message}`);
  }
  return { name: 'typescript', sync: findPolygonsPacked, async: findPolygonsPackedAsync };
}

function nativeImplementation(addon: NativeAddon): Selected {
  return {
    name: 'native',
    sync: (input, options) => addon.findPolygons(input, options),
    async: (input, options) => addon.findPolygonsAsync(input, options),
  };
}

function isChoice(value: unknown): value is PolygonChoice {
  return (POLYGON_CHOICES as readonly unknown[]).includes(value);
}

function select(): Selected {
  if (selected !== undefined) return selected;
  // A worker thread takes the choice its spawning thread made; a thread with none takes `auto`.
  const inherited = getEnvironmentData(CHOICE_KEY);
  selected = pick(isChoice(inherited) ? inherited : 'auto');
  return selected;
}

/**
 * Chooses the implementation for this thread and for every worker thread started from it
 * afterwards (one choice per process: the server makes it at start, from its `polygons` setting).
 * Throws, choosing nothing, when `native` is asked for and the addon did not load.
 */
export function usePolygonImplementation(choice: PolygonChoice): PolygonImplementation {
  if (!isChoice(choice)) throw new TypeError(`polygon implementation must be one of ${POLYGON_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`);
  selected = pick(choice);
  setEnvironmentData(CHOICE_KEY, choice);
  return selected.name;
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
