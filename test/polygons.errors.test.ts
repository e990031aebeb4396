import { describe, expect, it } from 'vitest';

import type { PackedRegions, PolygonInput, PolygonOptions } from '../dist/src/polygons/index.js';
import { findPolygons, findPolygonsAsync } from '../dist/src/polygons/index.js';
import { loadNativeAddon } from '../dist/src/polygons/native-addon.js';
import { findPolygonsPacked } from '../dist/src/polygons/reference.js';
import { findPolygonsPackedAsync } from '../dist/src/polygons/reference-async.js';

// Both implementations validate the same way, in the same order, with the same messages; the
// sync functions throw and the async ones reject.

const native = loadNativeAddon().addon!;

type Sync = (input: unknown, options?: unknown) => unknown;
type Async = (input: unknown, options?: unknown) => Promise<unknown>;
const implementations: [string, Sync, Async][] = [
  ['addon', native.findPolygons as Sync, native.findPolygonsAsync as Async],
  ['typescript', findPolygonsPacked as Sync, findPolygonsPackedAsync as Async],
  ['index', findPolygons as Sync, findPolygonsAsync as Async],
];

const mask9 = () => new Uint8Array(9);
const ok = { kind: 'mask', data: mask9(), width: 3, height: 3 };

const cases: [string, unknown, unknown, ErrorConstructor, string][] = [
  ['input null', null, undefined, TypeError, 'input must be an object'],
  ['input a number', 42, undefined, TypeError, 'input must be an object'],
  ['input a typed array', new Uint8Array(4), undefined, TypeError, "input.kind must be 'mask', 'probability' or 'labels'"],
  ['unknown kind', { ...ok, kind: 'polygon' }, undefined, TypeError, "input.kind must be 'mask', 'probability' or 'labels'"],
  ['mask as a plain array', { ...ok, data: [0, 1, 0, 0, 1, 0, 0, 0, 0] }, undefined, TypeError, "input.data must be a Uint8Array for kind 'mask'"],
  ['mask as Uint8ClampedArray', { ...ok, data: new Uint8ClampedArray(9) }, undefined, TypeError, "input.data must be a Uint8Array for kind 'mask'"],
  ['mask as an ArrayBuffer', { ...ok, data: new ArrayBuffer(9) }, undefined, TypeError, "input.data must be a Uint8Array for kind 'mask'"],
  ['mask missing', { kind: 'mask', width: 3, height: 3 }, undefined, TypeError, "input.data must be a Uint8Array for kind 'mask'"],
  [
    'probability as Float64Array',
    { kind: 'probability', data: new Float64Array(9), width: 3, height: 3 },
    undefined,
    TypeError,
    "input.data must be a Float32Array for kind 'probability'",
  ],
  [
    'labels as Int16Array',
    { kind: 'labels', data: new Int16Array(9), width: 3, height: 3 },
    undefined,
    TypeError,
    "input.data must be a Uint8Array or Int32Array for kind 'labels'",
  ],
  ['width a string', { ...ok, width: '3' }, undefined, TypeError, 'input.width must be a number'],
  ['width missing', { ...ok, width: undefined }, undefined, TypeError, 'input.width must be a number'],
  ['width zero', { ...ok, width: 0 }, undefined, RangeError, 'input.width must be an integer from 1 to 1048576'],
  ['width negative', { ...ok, width: -3 }, undefined, RangeError, 'input.width must be an integer from 1 to 1048576'],
  ['width fractional', { ...ok, width: 2.5 }, undefined, RangeError, 'input.width must be an integer from 1 to 1048576'],
  ['width NaN', { ...ok, width: NaN }, undefined, RangeError, 'input.width must be an integer from 1 to 1048576'],
  ['width too large', { ...ok, width: 1048577 }, undefined, RangeError, 'input.width must be an integer from 1 to 1048576'],
  ['height negative', { ...ok, height: -1 }, undefined, RangeError, 'input.height must be an integer from 1 to 1048576'],
  ['height Infinity', { ...ok, height: Infinity }, undefined, RangeError, 'input.height must be an integer from 1 to 1048576'],
  [
    'width × height overflow',
    { ...ok, width: 1048576, height: 1048576 },
    undefined,
    RangeError,
    'input.width * input.height exceeds the limit of 268435456 pixels',
  ],
  [
    'width × height just over the limit',
    { ...ok, width: 16385, height: 16384 },
    undefined,
    RangeError,
    'input.width * input.height exceeds the limit of 268435456 pixels',
  ],
  ['buffer too short', { ...ok, data: new Uint8Array(8) }, undefined, RangeError, 'input.data has length 8 but input.width * input.height is 9'],
  ['buffer too long', { ...ok, width: 2, height: 4 }, undefined, RangeError, 'input.data has length 9 but input.width * input.height is 8'],
  [
    'labels length',
    { kind: 'labels', data: new Int32Array(10), width: 3, height: 3 },
    undefined,
    RangeError,
    'input.data has length 10 but input.width * input.height is 9',
  ],
  [
    'threshold a string',
    { kind: 'probability', data: new Float32Array(9), width: 3, height: 3, threshold: '0.5' },
    undefined,
    TypeError,
    'input.threshold must be a number',
  ],
  [
    'threshold above 1',
    { kind: 'probability', data: new Float32Array(9), width: 3, height: 3, threshold: 1.5 },
    undefined,
    RangeError,
    'input.threshold must be a finite number from 0 to 1',
  ],
  [
    'threshold NaN',
    { kind: 'probability', data: new Float32Array(9), width: 3, height: 3, threshold: NaN },
    undefined,
    RangeError,
    'input.threshold must be a finite number from 0 to 1',
  ],
  [
    'background fractional',
    { kind: 'labels', data: new Uint8Array(9), width: 3, height: 3, background: 0.5 },
    undefined,
    RangeError,
    'input.background must be an integer from -2147483648 to 2147483647',
  ],
  [
    'background out of range',
    { kind: 'labels', data: new Uint8Array(9), width: 3, height: 3, background: 2 ** 31 },
    undefined,
    RangeError,
    'input.background must be an integer from -2147483648 to 2147483647',
  ],
  [
    'background a string',
    { kind: 'labels', data: new Uint8Array(9), width: 3, height: 3, background: '0' },
    undefined,
    TypeError,
    'input.background must be a number',
  ],
  ['options a number', ok, 5, TypeError, 'options must be an object'],
  ['options null', ok, null, TypeError, 'options must be an object'],
  ['epsilon negative', ok, { epsilon: -1 }, RangeError, 'options.epsilon must be a finite number >= 0'],
  ['epsilon Infinity', ok, { epsilon: Infinity }, RangeError, 'options.epsilon must be a finite number >= 0'],
  ['epsilon a string', ok, { epsilon: '1' }, TypeError, 'options.epsilon must be a number'],
  ['epsilonRatio NaN', ok, { epsilonRatio: NaN }, RangeError, 'options.epsilonRatio must be a finite number >= 0'],
  ['both epsilons', ok, { epsilon: 1, epsilonRatio: 0.01 }, TypeError, 'options.epsilon and options.epsilonRatio cannot both be set'],
  ['minArea negative', ok, { minArea: -0.5 }, RangeError, 'options.minArea must be a finite number >= 0'],
  ['maxPolygons zero', ok, { maxPolygons: 0 }, RangeError, 'options.maxPolygons must be an integer from 1 to 2147483647'],
  ['maxPolygons fractional', ok, { maxPolygons: 1.5 }, RangeError, 'options.maxPolygons must be an integer from 1 to 2147483647'],
  ['maxPolygons null', ok, { maxPolygons: null }, TypeError, 'options.maxPolygons must be a number'],
  ['unclipRatio negative', ok, { unclipRatio: -1 }, RangeError, 'options.unclipRatio must be a finite number >= 0'],
  [
    'NaN in a probability map',
    { kind: 'probability', data: Float32Array.from([0.1, 0.9, 0.2, 0.3, NaN, 0.3, 0, 0, 0]), width: 3, height: 3 },
    undefined,
    RangeError,
    'input.data[4] is not a finite number; probabilities must be finite',
  ],
  [
    'Infinity in a probability map',
    { kind: 'probability', data: Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, -Infinity]), width: 3, height: 3 },
    undefined,
    RangeError,
    'input.data[8] is not a finite number; probabilities must be finite',
  ],
];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

describe.each(implementations)('%s', (_name, sync, async) => {
  it.each(cases)('%s', async (_case, input, options, type, message) => {
    const error = thrown(() => sync(input, options));
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
    const rejection = await async(input, options).then(
      () => new Error('expected a rejection'),
      (err: unknown) => err,
    );
    expect(rejection).toBeInstanceOf(type);
    expect((rejection as Error).message).toBe(message);
  });

  it('accepts a Buffer and typed-array views with an offset', () => {
    const backing = new Uint8Array(20);
    backing.set([1, 1, 0, 0, 1, 0, 0, 0, 1], 7);
    const view = backing.subarray(7, 16);
    const expected = sync({ kind: 'mask', data: Uint8Array.from(view), width: 3, height: 3 });
    expect(sync({ kind: 'mask', data: view, width: 3, height: 3 })).toEqual(expected);
    expect(sync({ kind: 'mask', data: Buffer.from(view), width: 3, height: 3 })).toEqual(expected);
    const probabilities = new Float32Array(12).subarray(3);
    probabilities[4] = 0.9;
    const scored = sync({ kind: 'probability', data: probabilities, width: 3, height: 3 });
    const regions = 'regions' in (scored as object) ? (scored as PackedRegions).regions : null;
    if (regions !== null) expect(Array.from(regions)).toEqual([1, 0, 1, 1, 1, 1, probabilities[4], 0, 1]);
    else expect(scored).toEqual([{ label: 1, outer: Float64Array.from([1, 1]), holes: [], area: 0, bbox: [1, 1, 1, 1], score: probabilities[4] }]);
  });

  it('reports a detached buffer as empty', () => {
    const data = new Uint8Array(9);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    expect(() => sync({ kind: 'mask', data, width: 3, height: 3 } satisfies PolygonInput, {} satisfies PolygonOptions)).toThrow(
      new RangeError('input.data has length 0 but input.width * input.height is 9'),
    );
  });

  it('reads each input property once (a getter cannot swap the buffer after validation)', () => {
    let reads = 0;
    const input = {
      kind: 'mask',
      width: 3,
      height: 3,
      get data() {
        reads++;
        return reads === 1 ? new Uint8Array(9).fill(1) : new Uint8Array(1);
      },
    };
    expect(() => sync(input)).not.toThrow();
    expect(reads).toBe(1);
  });
});
