/**
 * Tensor element types as ONNX Runtime names them, with how many bytes one element takes and the
 * typed array that holds them (float16 travels as its raw 16-bit words; bool as one byte, 0 or 1).
 */
export const ELEMENT_TYPES = {
  float32: { bytes: 4, array: Float32Array },
  float16: { bytes: 2, array: Uint16Array },
  float64: { bytes: 8, array: Float64Array },
  int8: { bytes: 1, array: Int8Array },
  int16: { bytes: 2, array: Int16Array },
  int32: { bytes: 4, array: Int32Array },
  int64: { bytes: 8, array: BigInt64Array },
  uint8: { bytes: 1, array: Uint8Array },
  uint16: { bytes: 2, array: Uint16Array },
  uint32: { bytes: 4, array: Uint32Array },
  uint64: { bytes: 8, array: BigUint64Array },
  bool: { bytes: 1, array: Uint8Array },
} as const;

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
