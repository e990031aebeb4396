/**
 * A small Open Inference Protocol (KServe v2) client, written from the protocol's REST description
 * and Triton's binary tensor data extension: JSON requests, binary requests (the JSON header, its
 * length in Inference-Header-Content-Length, then each input's little-endian bytes in input order;
 * BYTES elements as a 4-byte length and the bytes), and answers in either form.
 */

type Numeric = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** Element arrays by datatype, from the protocol's table of tensor data types (FP16 as raw 16-bit words). */
const ARRAYS: Record<string, { new (buffer: ArrayBuffer, offset: number, length: number): Numeric; BYTES_PER_ELEMENT: number }> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

export interface ClientTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Numbers (or bigints, booleans) for fixed-size types; byte strings for BYTES. */
  data: Numeric | ReadonlyArray<number | bigint | boolean> | ReadonlyArray<Uint8Array>;
}

export interface RequestedOutput {
  name: string;
  binary?: boolean;
  classification?: number;
}

export interface InferOptions {
  /** Send the inputs as binary data after the JSON header (default: JSON). */
  binary?: boolean;
  outputs?: RequestedOutput[];
  /** The request's `binary_data_output`. */
  binaryOutputs?: boolean;
  id?: string;
  headers?: Record<string, string>;
}

export interface AnswerTensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Fixed-size types: the elements as numbers (bigints for 64-bit integers); BYTES: strings. */
  values: Array<number | bigint | boolean | string>;
  /** Whether it came as binary data. */
  binary: boolean;
}

export interface InferAnswer {
  status: number;
  headers: Headers;
  /** The JSON body (success: the response header; error: {error}). */
  json: Record<string, any>;
  outputs: Record<string, AnswerTensor>;
}

function bytesOf(t: ClientTensor): Uint8Array {
  if (t.datatype === 'BYTES') {
    // The protocol's binary BYTES: each element is its byte length as a little-endian uint32, then its bytes.
    return Buffer.concat(
      (t.data as ReadonlyArray<Uint8Array>).flatMap((e) => {
        const length = Buffer.alloc(4);
        length.writeUInt32LE(e.byteLength);
        return [length, e];
      }),
    );
  }
  const Array_ = ARRAYS[t.datatype];
  // A datatype the protocol lacks (to test the server's refusal): the typed array's own bytes.
  if (Array_ === undefined && ArrayBuffer.isView(t.data)) return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (Array_ === undefined) throw new Error(`no array for ${t.datatype}`);
  const values = ArrayBuffer.isView(t.data)
    ? t.data
    : Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
  const typed = new (Array_ as unknown as { new (n: number): Numeric })(values.length);
  for (let i = 0; i < values.length; i++) (typed as unknown as Array<number | bigint>)[i] = values[i];
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** JSON data: numbers (booleans for BOOL, strings for BYTES), flat, row-major. */
function jsonData(t: ClientTensor): unknown[] {
  if (t.datatype === 'BYTES') return (t.data as ReadonlyArray<Uint8Array>).map((e) => Buffer.from(e).toString('utf8'));
  return Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => (typeof v === 'bigint' ? Number(v) : t.datatype === 'BOOL' ? Boolean(v) : v));
}

function outputsJson(options: InferOptions) {
  return options.outputs?.map((o) => {
    const parameters: Record<string, unknown> = {};
    if (o.binary !== undefined) parameters.binary_data = o.binary;
    if (o.classification !== undefined) parameters.classification = o.classification;
    return Object.keys(parameters).length > 0 ? { name: o.name, parameters } : { name: o.name };
  });
}

/** The request body and its headers, in JSON or binary form. */
export function inferBody(inputs: readonly ClientTensor[], options: InferOptions = {}): { body: Uint8Array; headers: Record<string, string> } {
  const sections: Uint8Array[] = [];
  const header: Record<string, unknown> = {
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.binaryOutputs !== undefined ? { parameters: { binary_data_output: options.binaryOutputs } } : {}),
    inputs: inputs.map((t) => {
      if (!options.binary) return { name: t.name, shape: t.shape, datatype: t.datatype, data: jsonData(t) };
      const bytes = bytesOf(t);
      sections.push(bytes);
      return { name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: bytes.byteLength } };
    }),
    ...(options.outputs ? { outputs: outputsJson(options) } : {}),
  };
  const json = Buffer.from(JSON.stringify(header));
  if (!options.binary) return { body: json, headers: { 'content-type': 'application/json' } };
  return {
    body: Buffer.concat([json, ...sections]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) },
  };
}

/** Reads an answer: the JSON header (all of the body, or Inference-Header-Content-Length bytes of it) and the binary outputs after it. */
export function parseInferAnswer(status: number, headers: Headers, body: Uint8Array): InferAnswer {
  const length = headers.get('inference-header-content-length');
  const headerBytes = length === null ? body : body.subarray(0, Number(length));
  const json = JSON.parse(Buffer.from(headerBytes).toString('utf8')) as Record<string, any>;
  const outputs: Record<string, AnswerTensor> = {};
  let at = headerBytes.byteLength;
  for (const o of (json.outputs ?? []) as Array<Record<string, any>>) {
    const size = o.parameters?.binary_data_size as number | undefined;
    if (size === undefined) {
      outputs[o.name] = { name: o.name, datatype: o.datatype, shape: o.shape, values: o.data, binary: false };
      continue;
    }
    const section = body.slice(at, at + size);
    at += size;
    let values: AnswerTensor['values'];
    if (o.datatype === 'BYTES') {
      values = [];
      const view = new DataView(section.buffer);
      for (let p = 0; p < section.byteLength;) {
        const n = view.getUint32(p, true);
        values.push(Buffer.from(section.subarray(p + 4, p + 4 + n)).toString('utf8'));
        p += 4 + n;
      }
    } else {
      const Array_ = ARRAYS[o.datatype];
      const typed = new Array_(section.buffer, 0, size / Array_.BYTES_PER_ELEMENT);
      values = o.datatype === 'BOOL' ? Array.from(typed as Uint8Array, (v) => v !== 0) : Array.from(typed as ArrayLike<number>);
    }
    outputs[o.name] = { name: o.name, datatype: o.datatype, shape: o.shape, values, binary: true };
  }
  if (at !== body.byteLength) throw new Error(`answer holds ${body.byteLength - at} bytes past its outputs`);
  return { status, headers, json, outputs };
}

/** POST /v2/models/{model}[/versions/{version}]/infer. */
export async function infer(
  baseUrl: string,
  model: string,
  inputs: readonly ClientTensor[],
  options: InferOptions & { version?: string } = {},
): Promise<InferAnswer> {
  const { body, headers } = inferBody(inputs, options);
  const path = options.version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${options.version}/infer`;
  const res = await fetch(`${baseUrl}${path}`, { method: 'POST', body, headers: { ...headers, ...options.headers } });
  return parseInferAnswer(res.status, res.headers, new Uint8Array(await res.arrayBuffer()));
}

/** A raw POST, for requests the client would not build (mismatched sizes, cut bodies). */
export async function postInfer(
  baseUrl: string,
  model: string,
  body: Uint8Array | string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${baseUrl}/v2/models/${model}/infer`, { method: 'POST', body, headers });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}
