import { describe, expect, it } from 'vitest';
import { ELEMENT_TYPES, elementTypeOf, elementView, isElementType } from '../dist/src/backends/element-types.js';

describe('tensor element types', () => {
  it('takes each element size from its typed array', () => {
    const sizes = Object.fromEntries(Object.entries(ELEMENT_TYPES).map(([type, t]) => [type, t.bytes]));
    expect(sizes).toEqual({ float32: 4, float16: 2, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1 });
    expect([ELEMENT_TYPES.float16.array, ELEMENT_TYPES.bool.array, ELEMENT_TYPES.int64.array]).toEqual([Uint16Array, Uint8Array, BigInt64Array]);
  });

  it('knows its names, views a buffer, and reads a bare array back as its plain type', () => {
    expect([isElementType('float32'), isElementType('bfloat16'), isElementType('toString')]).toEqual([true, false, false]);
    const view = elementView('int32', new ArrayBuffer(16), 8, 2);
    expect([view instanceof Int32Array, view.length, view.byteOffset]).toEqual([true, 2, 8]);
    expect([elementTypeOf(new Uint8Array(1)), elementTypeOf(new Uint16Array(1)), elementTypeOf(new BigUint64Array(1))]).toEqual(['uint8', 'uint16', 'uint64']);
  });
});
