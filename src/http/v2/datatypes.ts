import type { ElementType } from '../../backends/element-types.js';

/**
 * The protocol's tensor data types (Open Inference Protocol, "Tensor Data Types"; BF16 from
 * Triton), with the element type each one is held in. BYTES elements are variable-length byte
 * strings; BF16 has no element type here, so no model can take or give it.
 */
export const DATATYPES = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BF16: undefined,
  BYTES: undefined,
} as const satisfies Record<string, ElementType | undefined>;

export type Datatype = keyof typeof DATATYPES;

/** Bytes per element of the fixed-size types (BYTES elements are variable). */
export const DATATYPE_BYTES: Readonly<Record<Exclude<Datatype, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BF16: 2,
};

export const isDatatype = (value: string): value is Datatype => Object.hasOwn(DATATYPES, value);

/** The protocol's name for an element type, or for a runtime type it has none for (such as ONNX `string`, which is BYTES). */
export function datatypeOf(type: string): string {
  if (type === 'string') return 'BYTES';
  for (const [name, element] of Object.entries(DATATYPES)) if (element === type) return name;
  return type.toUpperCase();
}

export const elementCount = (shape: readonly number[]): number => shape.reduce((n, d) => n * d, 1);
