/**
 * The subset of onnx.proto (ONNX IR) needed to write models, with the official field numbers,
 * so tests can build ONNX files without Python. Only what ONNX Runtime needs to load a graph is
 * declared; unknown fields are never written.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

// Field names as onnx.proto spells them (snake_case), as the model objects here are written.
const root = new protobuf.Root().loadSync(fileURLToPath(new URL('./onnx-subset.proto', import.meta.url)), { keepCase: true });

export const ModelProto = root.lookupType('onnx.ModelProto');
export const TensorProto = root.lookupType('onnx.TensorProto');

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** TensorProto.DataType values for the element types the builder supports. */
export const DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;

/** Serialises a plain-object ModelProto (snake_case field names as in onnx.proto). */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const problem = ModelProto.verify(model);
  if (problem) throw new Error(`invalid ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Parses model bytes back into a plain object (int64 as strings), for tests of the encoder itself. */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: String, bytes: Array, defaults: false });
}
