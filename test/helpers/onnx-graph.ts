/**
 * A small builder for ONNX graphs: inputs/outputs with (possibly symbolic) dims, initializers,
 * nodes with attributes. `build()` returns ModelProto bytes ready for `InferenceSession.create`.
 */
import { ATTRIBUTE_TYPE, DATA_TYPE, encodeModel } from './onnx-proto.js';

export type ElemType = keyof typeof DATA_TYPE;
/** A dimension: a fixed size, or a symbolic name (e.g. 'N' for the batch) for a dynamic one. */
export type Dim = number | string;

export interface TensorValue {
  type: ElemType;
  dims: readonly number[];
  values: ArrayLike<number | bigint>;
}

/** An attribute with an explicit ONNX type. */
export type TaggedAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] }
  | { kind: 'tensor'; value: TensorValue };

/**
 * Plain values are typed by shape: an integer number → INT, a string → STRING, an array of integers → INTS.
 * Floats (even whole ones) must be tagged with `attr.float` / `attr.floats` so a 1.0 is never sent as INT.
 */
export type AttributeValue = number | string | readonly number[] | TaggedAttribute;

export const attr = {
  int: (value: number): TaggedAttribute => ({ kind: 'int', value }),
  float: (value: number): TaggedAttribute => ({ kind: 'float', value }),
  string: (value: string): TaggedAttribute => ({ kind: 'string', value }),
  ints: (value: readonly number[]): TaggedAttribute => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): TaggedAttribute => ({ kind: 'floats', value }),
  strings: (value: readonly string[]): TaggedAttribute => ({ kind: 'strings', value }),
  tensor: (type: ElemType, dims: readonly number[], values: ArrayLike<number | bigint>): TaggedAttribute => ({
    kind: 'tensor',
    value: { type, dims, values },
  }),
};

/** Each element type's size and how one value is written little-endian, as onnx.proto requires whatever the host order. */
const ELEMENT_CODEC: Record<ElemType, { bytes: number; write: (view: DataView, at: number, v: number | bigint) => void }> = {
  float32: { bytes: 4, write: (view, at, v) => view.setFloat32(at, Number(v), true) },
  int32: { bytes: 4, write: (view, at, v) => view.setInt32(at, Number(v), true) },
  int64: { bytes: 8, write: (view, at, v) => view.setBigInt64(at, BigInt(v), true) },
  uint8: { bytes: 1, write: (view, at, v) => view.setUint8(at, Number(v)) },
  int8: { bytes: 1, write: (view, at, v) => view.setInt8(at, Number(v)) },
  bool: { bytes: 1, write: (view, at, v) => view.setUint8(at, v ? 1 : 0) },
  // Given as the 16-bit pattern itself.
  float16: { bytes: 2, write: (view, at, v) => view.setUint16(at, Number(v), true) },
  float64: { bytes: 8, write: (view, at, v) => view.setFloat64(at, Number(v), true) },
};

/** Little-endian raw_data for a tensor. */
export function rawData(type: ElemType, values: ArrayLike<number | bigint>): Uint8Array {
  const { bytes, write } = ELEMENT_CODEC[type];
  const out = new Uint8Array(values.length * bytes);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) write(view, i * bytes, values[i]);
  return out;
}

function tensorProto(name: string | undefined, t: TensorValue): Record<string, unknown> {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.values.length) throw new Error(`tensor ${name ?? ''}: dims [${t.dims.join(',')}] need ${count} values, got ${t.values.length}`);
  return {
    ...(name === undefined ? {} : { name }),
    dims: [...t.dims],
    data_type: DATA_TYPE[t.type],
    raw_data: rawData(t.type, t.values),
  };
}

function valueInfo(name: string, type: ElemType, dims: readonly Dim[] | undefined): Record<string, unknown> {
  const tensorType: Record<string, unknown> = { elem_type: DATA_TYPE[type] };
  if (dims !== undefined) {
    tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) };
  }
  return { name, type: { tensor_type: tensorType } };
}

function attributeProto(name: string, value: AttributeValue): Record<string, unknown> {
  const tagged: TaggedAttribute =
    typeof value === 'number'
      ? Number.isInteger(value)
        ? { kind: 'int', value }
        : { kind: 'float', value }
      : typeof value === 'string'
        ? { kind: 'string', value }
        : Array.isArray(value)
          ? { kind: 'ints', value: value as readonly number[] }
          : (value as TaggedAttribute);
  switch (tagged.kind) {
    case 'int':
      if (!Number.isInteger(tagged.value)) throw new Error(`attribute ${name}: ${tagged.value} is not an integer`);
      return { name, type: ATTRIBUTE_TYPE.INT, i: tagged.value };
    case 'float':
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: tagged.value };
    case 'string':
      return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(tagged.value) };
    case 'ints':
      if (!tagged.value.every(Number.isInteger)) throw new Error(`attribute ${name}: ints must be integers (use attr.floats)`);
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...tagged.value] };
    case 'floats':
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...tagged.value] };
    case 'strings':
      return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: tagged.value.map((s) => new TextEncoder().encode(s)) };
    case 'tensor':
      return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorProto(undefined, tagged.value) };
  }
}

export interface BuildOptions {
  /** Default opset 13 (ReduceMean/ReduceMax take `axes` as an attribute up to opset 17). */
  opset?: number;
  /** Default 8, the IR version that goes with opsets 13–15. */
  irVersion?: number;
  /** Stored as ModelProto.metadata_props. */
  metadata?: Record<string, string>;
}

export class OnnxGraph {
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly nodes: Record<string, unknown>[] = [];
  private counter = 0;

  constructor(private readonly name = 'graph') {}

  input(name: string, type: ElemType, dims: readonly Dim[]): this {
    this.inputs.push(valueInfo(name, type, dims));
    return this;
  }

  /** `dims` may be omitted when the shape is left to ONNX Runtime's inference. */
  output(name: string, type: ElemType, dims?: readonly Dim[]): this {
    this.outputs.push(valueInfo(name, type, dims));
    return this;
  }

  initializer(name: string, type: ElemType, dims: readonly number[], values: ArrayLike<number | bigint>): this {
    this.initializers.push(tensorProto(name, { type, dims, values }));
    return this;
  }

  /** Adds an initializer under a fresh name and returns the name, for inline constants. */
  constant(type: ElemType, dims: readonly number[], values: ArrayLike<number | bigint>, hint = 'const'): string {
    const name = `${hint}_${this.counter++}`;
    this.initializer(name, type, dims, values);
    return name;
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttributeValue> = {}): this {
    this.nodes.push({
      name: `${opType}_${this.counter++}`,
      op_type: opType,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([k, v]) => attributeProto(k, v)),
    });
    return this;
  }

  /** Adds a one-output node with a fresh output name and returns that name, for chaining expressions. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    const out = `${opType.toLowerCase()}_${this.counter++}`;
    this.node(opType, inputs, [out], attributes);
    return out;
  }

  build(options: BuildOptions = {}): Uint8Array {
    return encodeModel({
      ir_version: options.irVersion ?? 8,
      opset_import: [{ domain: '', version: options.opset ?? 13 }],
      producer_name: 'sightline-test-helpers',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }
}
