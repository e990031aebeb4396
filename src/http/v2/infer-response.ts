import type { ElementArray, ElementType } from '../../backends/element-types.js';
import type { Reply } from '../reply.js';
import { encodeBytesElements } from './bytes-elements.js';
import { datatypeOf } from './datatypes.js';
import { elementsJson } from './json-tensor.js';
import { protocolError } from './protocol-error.js';

/** One output of an answer: a tensor of a fixed-size type, or BYTES elements. */
export type ResponseTensor = { name: string; shape: number[]; binary: boolean } & (
  { type: ElementType; data: ElementArray } | { type: 'bytes'; elements: Uint8Array[] }
);

export interface ResponseHeader {
  model_name: string;
  model_version: string;
  id?: string;
}

const decoder = new TextDecoder();

/**
 * The inference response: JSON alone when every output is JSON; otherwise the JSON header
 * followed by the binary outputs in output order, its length in `Inference-Header-Content-Length`
 * (Triton's binary tensor data extension). The header is written by hand so 64-bit integers keep
 * every digit.
 */
export function inferResponse(header: ResponseHeader, outputs: readonly ResponseTensor[]): Reply {
  const sections: Uint8Array[] = [];
  const parts = outputs.map((o) => {
    const datatype = o.type === 'bytes' ? 'BYTES' : datatypeOf(o.type);
    const head = `"name":${JSON.stringify(o.name)},"datatype":${JSON.stringify(datatype)},"shape":${JSON.stringify(o.shape)}`;
    if (o.binary) {
      const bytes = o.type === 'bytes' ? encodeBytesElements(o.elements) : new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength);
      sections.push(bytes);
      return `{${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    }
    if (o.type === 'float16') throw protocolError(400, `sending FP16 data via JSON is not supported. Please use the binary data format for output ${o.name}`);
    const data = o.type === 'bytes' ? JSON.stringify(o.elements.map((e) => decoder.decode(e))) : elementsJson(o.type, o.data);
    return `{${head},"data":${data}}`;
  });
  const fields = [`"model_name":${JSON.stringify(header.model_name)}`, `"model_version":${JSON.stringify(header.model_version)}`];
  if (header.id !== undefined) fields.push(`"id":${JSON.stringify(header.id)}`);
  const json = `{${fields.join(',')},"outputs":[${parts.join(',')}]}`;
  if (sections.length === 0) return { status: 200, contentType: 'application/json', body: json };
  const head = Buffer.from(json, 'utf8');
  return {
    status: 200,
    contentType: 'application/octet-stream',
    headers: { 'inference-header-content-length': String(head.byteLength) },
    body: Buffer.concat([head, ...sections]),
  };
}
