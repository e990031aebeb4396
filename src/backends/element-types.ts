/**
 * Tensor element types as ONNX Runtime names them, with the typed array that holds them (float16
 * travels as its raw 16-bit words; bool as one byte, 0 or 1).
 */
const ARRAYS = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const;

/** Each element type's array, and how many bytes one element takes (as the array says). */
export const ELEMENT_TYPES = Object.fromEntries(Object.entries(ARRAYS).map(([type, array]) => [type, { bytes: array.BYTES_PER_ELEMENT, array }])) as {
  readonly [T in keyof typeof ARRAYS]: { readonly bytes: number; readonly array: (typeof ARRAYS)[T] };
};

export type ElementType = keyof typeof ELEMENT_TYPES;

export type ElementArray =
  Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** A tensor that knows its element type: what the tensor entry feeds a model and gets back. */
export interface TypedTensor {
  type: ElementType;
  dims: number[];
  data: ElementArray;
}

export function isElementType(type: string): type is ElementType {
  return Object.hasOwn(ELEMENT_TYPES, type);
}

/** A typed view of `count` elements of `type` over `buffer` from `byteOffset` (which must be aligned to the element size). */
export function elementView(type: ElementType, buffer: ArrayBufferLike, byteOffset: number, count: number): ElementArray {
  return new ELEMENT_TYPES[type].array(buffer as ArrayBuffer, byteOffset, count);
}

/** The element type of an array a backend returned without naming it (a Uint8Array is read as uint8, not bool). */
export function elementTypeOf(data: ElementArray): ElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}
