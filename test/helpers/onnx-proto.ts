/**
 * The subset of onnx.proto (ONNX IR) needed to write models, with the official field numbers,
 * so tests can build ONNX files without Python. Only what ONNX Runtime needs to load a graph is
 * declared; unknown fields are never written.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

// onnx-subset.json is that subset as a protobufjs descriptor: field names as onnx.proto spells them
// (snake_case), as the model objects here are written. Each message is proto2, so repeated fields
// are packed only where the official file says so (TensorProto's numeric data fields).
const descriptor = JSON.parse(readFileSync(new URL('./onnx-subset.json', import.meta.url), 'utf8')) as protobuf.INamespace;
const root = protobuf.Root.fromJSON(descriptor);

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
