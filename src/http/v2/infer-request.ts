import { parseWith } from '../schemas/request-validation.js';
import { inferRequest } from '../schemas/open-inference.js';
import { decodeBytesElements } from './bytes-elements.js';
import { DATATYPE_BYTES, DATATYPES, elementCount, isDatatype, type Datatype } from './datatypes.js';
import { flattenData, jsonToBytes, jsonToElements } from './json-tensor.js';
import { protocolError } from './protocol-error.js';

/** One input of a request, its elements read from JSON or from the binary data after the header. */
export interface RequestTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  /** Fixed-size types: the elements' little-endian bytes. */
  bytes?: Uint8Array;
  /** BYTES: each element's bytes. */
  elements?: Uint8Array[];
  /** The element strings as sent in JSON (BYTES given as JSON; images may come as base64 there). */
  strings?: string[];
}

export interface RequestedOutput {
  name: string;
  /** `binary_data`; undefined when the output does not say (the request's `binary_data_output` decides). */
  binary: boolean | undefined;
  /** Triton's classification extension: the top N classes instead of the tensor. */
  classification?: number;
}

export interface InferRequest {
  id: string | undefined;
  inputs: RequestTensor[];
  /** The outputs asked for by name; undefined: every output, in `binaryOutputs` form. */
  outputs: RequestedOutput[] | undefined;
  /** `binary_data_output`: outputs not asked for otherwise come as binary data. */
  binaryOutputs: boolean;
}

export const HEADER_LENGTH = 'inference-header-content-length';

/**
 * Where the JSON header ends: the `Inference-Header-Content-Length` header, or the whole body
 * without it. A value that is not a whole number within the body is a 400 (Triton's wording).
 */
export function headerLengthOf(value: string | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n > bodyLength) throw protocolError(400, `inference header size should be in range (0, ${bodyLength}), got: ${value}`);
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const flag = (parameters: Record<string, unknown> | undefined, key: string, what: string): boolean | undefined => {
  const value = parameters?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw protocolError(400, `${what}: parameter '${key}' must be a boolean`);
  return value;
};

/**
 * Reads an inference request: the JSON header (the whole body, or its first `headerLength` bytes)
 * and, for inputs with `binary_data_size`, their bytes in input order after it. Every byte of the
 * body must belong to the header or to an input.
 */
export function parseInferRequest(body: Uint8Array, headerLength: number | undefined, model: string): InferRequest {
  const headerBytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  if (headerBytes.byteLength === 0) throw protocolError(400, 'the request has no JSON inference header');
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(headerBytes));
  } catch (err) {
    throw protocolError(400, `failed to parse the request JSON buffer: ${(err as Error).message}`);
  }
  const request = parseWith(inferRequest, json);
  let at = headerBytes.byteLength;
  const seen = new Set<string>();
  const inputs = request.inputs.map((input): RequestTensor => {
    const what = `input '${input.name}'`;
    if (seen.has(input.name)) throw protocolError(400, `${what} is given more than once`);
    seen.add(input.name);
    if (!isDatatype(input.datatype))
      throw protocolError(400, `invalid datatype '${input.datatype}' for ${what}; the protocol's are ${Object.keys(DATATYPES).join(', ')}`);
    const datatype = input.datatype;
    const count = elementCount(input.shape);
    const size = input.parameters?.binary_data_size;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        throw protocolError(400, `${what}: binary_data_size must be a non-negative integer`);
      if (input.data !== undefined) throw protocolError(400, `${what} has both 'data' and binary_data_size`);
      if (headerLength === undefined) {
        throw protocolError(
          400,
          "must specify valid 'Inference-Header-Content-Length' in request header and 'binary_data_size' when passing inputs in binary data format",
        );
      }
      if (at + size > body.byteLength) {
        throw protocolError(400, `unexpected size for input '${input.name}', expecting ${at + size - body.byteLength} additional bytes for model '${model}'`);
      }
      const section = body.subarray(at, at + size);
      at += size;
      if (datatype === 'BYTES') return { name: input.name, datatype, shape: input.shape, elements: decodeBytesElements(section, count, what) };
      const expected = count * DATATYPE_BYTES[datatype];
      if (size !== expected)
        throw protocolError(400, `unexpected total byte size ${size} for ${what}, expecting ${expected} (shape [${input.shape.join(',')}] of ${datatype})`);
      return { name: input.name, datatype, shape: input.shape, bytes: section };
    }
    if (input.data === undefined) throw protocolError(400, `${what} has no data: give 'data' or, after the JSON header, binary data of binary_data_size bytes`);
    if (datatype === 'FP16' || datatype === 'BF16') {
      throw protocolError(400, `receiving ${datatype} data via JSON is not supported. Please use the binary data format for input ${input.name}`);
    }
    const values = flattenData(input.data, what);
    if (values.length !== count) throw protocolError(400, `${what}: data holds ${values.length} elements; shape [${input.shape.join(',')}] has ${count}`);
    if (datatype === 'BYTES') return { name: input.name, datatype, shape: input.shape, elements: jsonToElements(values, what), strings: values as string[] };
    return { name: input.name, datatype, shape: input.shape, bytes: jsonToBytes(datatype, values, what) };
  });
  if (at !== body.byteLength) throw protocolError(400, `unexpected additional input data for model '${model}'`);

  const wanted = new Set<string>();
  const outputs = request.outputs?.map((output): RequestedOutput => {
    const what = `output '${output.name}'`;
    if (wanted.has(output.name)) throw protocolError(400, `${what} is asked for more than once`);
    wanted.add(output.name);
    const classification = output.parameters?.classification;
    if (classification !== undefined && (typeof classification !== 'number' || !Number.isSafeInteger(classification) || classification < 1)) {
      throw protocolError(400, `${what}: classification must be a positive integer (the number of classes to return)`);
    }
    return { name: output.name, binary: flag(output.parameters, 'binary_data', what), ...(classification === undefined ? {} : { classification }) };
  });
  return { id: request.id, inputs, outputs, binaryOutputs: flag(request.parameters, 'binary_data_output', 'the request') ?? false };
}

/**
 * Triton's raw binary request (`Inference-Header-Content-Length: 0`): the body is the data of the
 * model's one input, whose shape follows from the body's size (at most one variable dim; BYTES:
 * the body is one element); every output comes back as binary data.
 */
export function rawBinaryRequest(body: Uint8Array, input: { name: string; datatype: Datatype; shape: readonly number[] }): InferRequest {
  const what = `input '${input.name}'`;
  if (input.datatype === 'BYTES')
    return { id: undefined, inputs: [{ name: input.name, datatype: 'BYTES', shape: [1], elements: [body] }], outputs: undefined, binaryOutputs: true };
  const variable = input.shape.filter((d) => d < 0).length;
  if (variable > 1) throw protocolError(400, `a raw binary request needs ${what} to have at most one variable dim; it has ${variable}`);
  const fixed = input.shape.filter((d) => d >= 0).reduce((n, d) => n * d, 1) * DATATYPE_BYTES[input.datatype];
  const open = fixed === 0 ? 0 : body.byteLength / fixed;
  if (!Number.isInteger(open) || (variable === 0 && open !== 1)) {
    throw protocolError(400, `unexpected total byte size ${body.byteLength} for ${what} of shape [${input.shape.join(',')}] and ${input.datatype}`);
  }
  const shape = input.shape.map((d) => (d < 0 ? open : d));
  return { id: undefined, inputs: [{ name: input.name, datatype: input.datatype, shape, bytes: body }], outputs: undefined, binaryOutputs: true };
}
