import { types } from 'node:util';

/**
 * Argument validation for the TypeScript implementation. The native addon performs the same
 * checks in the same order with the same messages (native/addon.cc), so callers see one
 * behaviour whichever implementation runs.
 */

export const MAX_SIDE = 1048576; // 2^20
export const MAX_PIXELS = 268435456; // 2^28

export type ElementData = Uint8Array | Float32Array | Int32Array;

export interface NormalizedOptions {
  epsilon: number;
  epsilonRatio: number;
  minArea: number;
  /** 0: unlimited. */
  maxPolygons: number;
  unclipRatio: number;
}

export interface PolygonRequest {
  kind: 'mask' | 'probability' | 'labels';
  data: ElementData;
  width: number;
  height: number;
  threshold: number;
  background: number;
  options: NormalizedOptions;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function readDimension(input: Record<string, unknown>, name: 'width' | 'height'): number {
  const value = input[name];
  if (typeof value !== 'number') throw new TypeError(`input.${name} must be a number`);
  if (!(value >= 1 && value <= MAX_SIDE && Math.floor(value) === value)) {
    throw new RangeError(`input.${name} must be an integer from 1 to ${MAX_SIDE}`);
  }
  return value;
}

/** undefined means "not set"; anything else must be a finite number >= 0. */
function readNonNegative(options: Record<string, unknown>, name: string): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new TypeError(`options.${name} must be a number`);
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`options.${name} must be a finite number >= 0`);
  }
  return value;
}

export function readOptions(value: unknown): NormalizedOptions {
  const options: NormalizedOptions = { epsilon: 0, epsilonRatio: 0, minArea: 0, maxPolygons: 0, unclipRatio: 0 };
  if (value === undefined) return options;
  if (!isObject(value)) throw new TypeError('options must be an object');
  const epsilon = readNonNegative(value, 'epsilon');
  const epsilonRatio = readNonNegative(value, 'epsilonRatio');
  if (epsilon !== undefined && epsilonRatio !== undefined) {
    throw new TypeError('options.epsilon and options.epsilonRatio cannot both be set');
  }
  options.epsilon = epsilon ?? 0;
  options.epsilonRatio = epsilonRatio ?? 0;
  options.minArea = readNonNegative(value, 'minArea') ?? 0;
  const maxPolygons = value.maxPolygons;
  if (maxPolygons !== undefined) {
    if (typeof maxPolygons !== 'number') throw new TypeError('options.maxPolygons must be a number');
    if (!(maxPolygons >= 1 && maxPolygons <= 2147483647 && Math.floor(maxPolygons) === maxPolygons)) {
      throw new RangeError('options.maxPolygons must be an integer from 1 to 2147483647');
    }
    options.maxPolygons = maxPolygons;
  }
  options.unclipRatio = readNonNegative(value, 'unclipRatio') ?? 0;
  return options;
}

/**
 * Validates `findPolygons` arguments as a caller passed them (meant to be a PolygonInput and
 * PolygonOptions); throws TypeError / RangeError with the shared messages.
 */
export function readRequest(input: unknown, options?: unknown): PolygonRequest {
  if (!isObject(input)) throw new TypeError('input must be an object');
  const kind = input.kind;
  if (kind !== 'mask' && kind !== 'probability' && kind !== 'labels') {
    throw new TypeError("input.kind must be 'mask', 'probability' or 'labels'");
  }
  const data = input.data;
  if (kind === 'mask' && !types.isUint8Array(data)) {
    throw new TypeError("input.data must be a Uint8Array for kind 'mask'");
  }
  if (kind === 'probability' && !types.isFloat32Array(data)) {
    throw new TypeError("input.data must be a Float32Array for kind 'probability'");
  }
  if (kind === 'labels' && !types.isUint8Array(data) && !types.isInt32Array(data)) {
    throw new TypeError("input.data must be a Uint8Array or Int32Array for kind 'labels'");
  }
  const width = readDimension(input, 'width');
  const height = readDimension(input, 'height');
  if (width * height > MAX_PIXELS) {
    throw new RangeError(`input.width * input.height exceeds the limit of ${MAX_PIXELS} pixels`);
  }
  const elements = data as ElementData;
  if (elements.length !== width * height) {
    throw new RangeError(`input.data has length ${elements.length} but input.width * input.height is ${width * height}`);
  }

  let threshold = 0.5;
  if (kind === 'probability' && input.threshold !== undefined) {
    if (typeof input.threshold !== 'number') throw new TypeError('input.threshold must be a number');
    if (!(input.threshold >= 0 && input.threshold <= 1)) {
      throw new RangeError('input.threshold must be a finite number from 0 to 1');
    }
    threshold = input.threshold;
  }
  let background = 0;
  if (kind === 'labels' && input.background !== undefined) {
    if (typeof input.background !== 'number') throw new TypeError('input.background must be a number');
    const b = input.background;
    if (!(b >= -2147483648 && b <= 2147483647 && Math.floor(b) === b)) {
      throw new RangeError('input.background must be an integer from -2147483648 to 2147483647');
    }
    background = b;
  }
  return { kind, data: elements, width, height, threshold, background, options: readOptions(options) };
}
