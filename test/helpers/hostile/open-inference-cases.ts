/**
 * Open Inference Protocol (/v2) bodies the generated cases cannot write: Triton's binary tensor
 * data (a JSON header `Inference-Header-Content-Length` bytes long, then each input's bytes of its
 * `binary_data_size`), raw binary requests, lying shapes and BYTES elements. Each answer is the
 * protocol's `{"error": "<message>"}` with a 4xx (cases.ts checks the shape on /v2 targets), never
 * a 5xx, a hang or a crash.
 */
import { httpCase, type HostileCase, type HttpRequest } from './cases.js';
import type { Limits } from './limits.js';

/** The suite's `cls` model: one FP32 input [-1, 3, 8, 8] named `input`, one output `logits`. */
const INPUT = 'input';
const ROW = [3, 8, 8];
const ROW_BYTES = 3 * 8 * 8 * 4;
const INFER = '/v2/models/cls/infer';
const HEADER_LENGTH = 'inference-header-content-length';

type Json = Record<string, unknown>;

const fp32Input = (shape: number[], parameters: Json = {}): Json => ({ name: INPUT, datatype: 'FP32', shape, parameters });
const rows = (n: number) => Buffer.alloc(n * ROW_BYTES, 0);

/** A JSON header and the bytes after it; the header's length unless `headerLength` says otherwise. */
function binary(header: Json, data: Buffer, headerLength?: string | number): { body: Buffer; headers: Record<string, string | number> } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, data]), headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: headerLength ?? json.length } };
}

/** BYTES elements as the binary extension writes them: a 4-byte little-endian length, then the bytes. */
function bytesElements(elements: Array<Buffer | { declared: number; data: Buffer }>): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const { declared, data } = Buffer.isBuffer(e) ? { declared: e.length, data: e } : e;
      const length = Buffer.alloc(4);
      length.writeUInt32LE(declared);
      return [length, data];
    }),
  );
}

export function openInferenceCases(png: Buffer, limits: Limits): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (what: string, req: Omit<HttpRequest, 'method' | 'target'> & { target?: string }, expected: string) => {
    const c = httpCase('open-inference', what, { method: 'POST', target: req.target ?? INFER, ...req }, expected);
    cases.push({ ...c, route: '/v2/models/{name}/infer' });
  };
  const addBinary = (what: string, header: Json, data: Buffer, expected: string, headerLength?: string | number, target?: string) =>
    add(what, { ...binary(header, data, headerLength), ...(target ? { target } : {}) }, expected);
  const json = (what: string, request: unknown, expected: string) =>
    add(what, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) }, expected);
  const one = { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES })] };

  // The valid forms, so the refusals below are about what each one breaks.
  addBinary('binary FP32 tensor (valid)', one, rows(1), '200');
  addBinary('binary tensor with binary outputs (valid)', { ...one, parameters: { binary_data_output: true } }, rows(1), '200');
  json('JSON tensor (valid)', { inputs: [{ name: INPUT, datatype: 'FP32', shape: [1, ...ROW], data: new Array(192).fill(0) }] }, '200');
  add('raw binary request of one row (valid)', { headers: { [HEADER_LENGTH]: 0 }, body: rows(1) }, '200');
  // tritonclient sends no Content-Type: the protocol reads the body whatever it says.
  const zeros = JSON.stringify({ inputs: [{ name: INPUT, datatype: 'FP32', shape: [1, ...ROW], data: new Array(192).fill(0) }] });
  add('JSON tensor without a content type (valid)', { body: zeros }, '200');
  add('JSON tensor labelled text/plain (valid)', { headers: { 'content-type': 'text/plain' }, body: zeros }, '200');

  // Inference-Header-Content-Length itself.
  const header = Buffer.from(JSON.stringify(one)).length;
  for (const [what, value] of [
    ['larger than the body', header + ROW_BYTES + 1],
    ['far past the body (2^53)', '9007199254740993'],
    ['negative', '-1'],
    ['negative zero', '-0'],
    ['not a number', 'abc'],
    ['a fraction', `${header}.5`],
    ['hexadecimal', `0x${header.toString(16)}`],
    ['exponent form', '1e2'],
    ['with a plus sign', `+${header}`],
    ['20 digits', '99999999999999999999'],
  ] as const) {
    addBinary(`Inference-Header-Content-Length ${what}`, one, rows(1), '400', value);
  }
  addBinary('Inference-Header-Content-Length cutting the JSON short', one, rows(1), '400', header - 5);
  addBinary(
    'Inference-Header-Content-Length inside a UTF-8 character',
    { ...one, id: 'é'.repeat(8) },
    rows(1),
    '400',
    Buffer.from(JSON.stringify({ ...one, id: 'é'.repeat(8) })).indexOf('é') + 1,
  );
  addBinary('Inference-Header-Content-Length longer than the JSON (binary data read as JSON)', one, rows(1), '400', header + 10);
  add('Inference-Header-Content-Length with an empty body', { headers: { [HEADER_LENGTH]: 10 }, body: '' }, '400');
  add('Inference-Header-Content-Length on a JSON body that has no binary data', { headers: { [HEADER_LENGTH]: 2 }, body: '{}' }, '400');
  add('a JSON header that is an array', { body: Buffer.concat([Buffer.from('[1]'), rows(1)]), headers: { [HEADER_LENGTH]: 3 } }, '400');
  add('a JSON header that is null', { body: Buffer.concat([Buffer.from('null'), rows(1)]), headers: { [HEADER_LENGTH]: 4 } }, '400');

  // Raw binary requests (header length 0): the body is the one input's data, its size the shape.
  add('raw binary request of no bytes', { headers: { [HEADER_LENGTH]: 0 }, body: '' }, '400');
  add('raw binary request of one byte past a row', { headers: { [HEADER_LENGTH]: 0 }, body: Buffer.concat([rows(1), Buffer.alloc(1)]) }, '400');
  add('raw binary request of 3 bytes', { headers: { [HEADER_LENGTH]: 0 }, body: Buffer.alloc(3) }, '400');

  // binary_data_size against the body and the shape.
  addBinary('binary_data_size past the end of the body', { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES * 2 })] }, rows(1), '400');
  addBinary('binary_data_size short of the body (bytes left over)', { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES })] }, rows(2), '400');
  addBinary(
    'binary_data_size not the shape’s bytes (one short)',
    { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES - 1 })] },
    rows(1).subarray(1),
    '400',
  );
  addBinary('binary_data_size of two rows for a shape of one', { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES * 2 })] }, rows(2), '400');
  addBinary('truncated tensor: the body ends 100 bytes early', one, rows(1).subarray(100), '400');
  addBinary('truncated tensor: only the JSON header sent', one, Buffer.alloc(0), '400');
  // binary_data_size as JSON text, so values JSON.stringify cannot write (1e400) are sent too.
  for (const [what, size] of [
    ['negative', String(-ROW_BYTES)],
    ['a fraction', `${ROW_BYTES}.5`],
    ['a string', `"${ROW_BYTES}"`],
    ['2^60', String(2 ** 60)],
    ['1e400 (Infinity once parsed)', '1e400'],
    ['null', 'null'],
    ['true', 'true'],
  ] as const) {
    const h = Buffer.from(`{"inputs":[{"name":"${INPUT}","datatype":"FP32","shape":[1,${ROW.join(',')}],"parameters":{"binary_data_size":${size}}}]}`);
    add(`binary_data_size ${what}`, { body: Buffer.concat([h, rows(1)]), headers: { [HEADER_LENGTH]: h.length } }, '400');
  }
  addBinary(
    'binary_data_size sums past the body over two inputs',
    { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), { ...fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), name: 'second' }] },
    rows(1),
    '400',
  );
  addBinary(
    'the same input twice, each with binary data',
    { inputs: [fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES })] },
    rows(2),
    '400',
  );
  addBinary('both data and binary_data_size', { inputs: [{ ...fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), data: [0] }] }, rows(1), '400');
  json('binary_data_size without Inference-Header-Content-Length', one, '400');
  addBinary(
    'a binary tensor of the wrong datatype (FP64)',
    { inputs: [{ ...fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES * 2 }), datatype: 'FP64' }] },
    rows(2),
    '400',
  );
  addBinary('an unknown datatype', { inputs: [{ ...fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), datatype: 'FP128' }] }, rows(1), '400');
  addBinary('an unknown input name', { inputs: [{ ...fp32Input([1, ...ROW], { binary_data_size: ROW_BYTES }), name: 'nope' }] }, rows(1), '400');

  // Declared shapes: overflowing element counts, counts past the body limit, a batch of nothing.
  const maxDim = Number.MAX_SAFE_INTEGER;
  addBinary(
    'a shape whose element count overflows (2^53-1 × 3 × 8 × 8)',
    { inputs: [fp32Input([maxDim, ...ROW], { binary_data_size: ROW_BYTES })] },
    rows(1),
    '400',
  );
  addBinary(
    'a shape whose element count is Infinity (twenty dims of 2^53-1)',
    { inputs: [fp32Input(new Array(20).fill(maxDim), { binary_data_size: ROW_BYTES })] },
    rows(1),
    '400',
  );
  const pastLimit = Math.ceil((limits.bodyBytes * 8) / ROW_BYTES);
  addBinary(
    `a shape of ${pastLimit} rows (8× the body limit) and a matching binary_data_size`,
    { inputs: [fp32Input([pastLimit, ...ROW], { binary_data_size: pastLimit * ROW_BYTES })] },
    rows(1),
    '400',
  );
  json('JSON data of 3 elements for a shape of 2^53-1 rows', { inputs: [{ name: INPUT, datatype: 'FP32', shape: [maxDim, ...ROW], data: [1, 2, 3] }] }, '400');
  addBinary('a batch of zero rows (shape [0, 3, 8, 8], no bytes)', { inputs: [fp32Input([0, ...ROW], { binary_data_size: 0 })] }, Buffer.alloc(0), '400');
  addBinary('a zero dim beside a huge one ([0, 2^53-1, 8, 8])', { inputs: [fp32Input([0, maxDim, 8, 8], { binary_data_size: 0 })] }, Buffer.alloc(0), '400');
  addBinary('a negative dim', { inputs: [fp32Input([-1, ...ROW], { binary_data_size: ROW_BYTES })] }, rows(1), '400');
  addBinary('a fractional dim', { inputs: [fp32Input([1.5, ...ROW], { binary_data_size: ROW_BYTES })] }, rows(1), '400');
  addBinary('a dim of 2^53 (past a safe integer)', { inputs: [fp32Input([2 ** 53, ...ROW], { binary_data_size: ROW_BYTES })] }, rows(1), '400');
  addBinary('10,000 dims of 1', { inputs: [fp32Input(new Array(10_000).fill(1), { binary_data_size: 4 })] }, Buffer.alloc(4), '400');
  addBinary('the right bytes in the wrong rank ([192])', { inputs: [fp32Input([192], { binary_data_size: ROW_BYTES })] }, rows(1), '400');

  // BYTES elements (the image input): lengths that lie, counts that do not match the shape.
  const image = (shape: number[], data: Buffer) => ({ inputs: [{ name: 'image', datatype: 'BYTES', shape, parameters: { binary_data_size: data.length } }] });
  const bytesCase = (what: string, shape: number[], data: Buffer, expected: string) => addBinary(what, image(shape, data), data, expected);
  bytesCase('a BYTES image (valid)', [1], bytesElements([png]), '200');
  bytesCase('a BYTES element whose length is past the end (2^32-1)', [1], bytesElements([{ declared: 0xffffffff, data: png }]), '400');
  bytesCase('a BYTES element one byte longer than what follows', [1], bytesElements([{ declared: png.length + 1, data: png }]), '400');
  bytesCase('a second BYTES element whose length is past the end', [2], bytesElements([png, { declared: 1 << 20, data: png }]), '400');
  bytesCase('a BYTES length cut short (2 of its 4 bytes)', [1], Buffer.from([5, 0]), '400');
  bytesCase('bytes after the last BYTES element', [1], Buffer.concat([bytesElements([png]), Buffer.from([1, 2])]), '400');
  bytesCase('fewer BYTES elements than the shape (1 for [2])', [2], bytesElements([png]), '400');
  bytesCase('more BYTES elements than the shape (2 for [1])', [1], bytesElements([png, png]), '400');
  bytesCase('BYTES of a huge shape (2^53-1) holding one element', [maxDim], bytesElements([png]), '400');
  bytesCase('BYTES of an overflowing shape holding one element', new Array(20).fill(maxDim), bytesElements([png]), '400');
  bytesCase('an empty BYTES section for shape [1]', [1], Buffer.alloc(0), '400');
  bytesCase('an empty BYTES element (no image)', [1], bytesElements([Buffer.alloc(0)]), '400');
  bytesCase('a BYTES element that is not an image', [1], bytesElements([Buffer.from('not an image at all')]), '415');
  bytesCase('a BYTES image cut in half', [1], bytesElements([png.subarray(0, Math.floor(png.length / 2))]), '422');
  bytesCase('a BYTES element past the file limit', [1], bytesElements([Buffer.concat([png.subarray(0, 8), Buffer.alloc(limits.fileBytes + 1024)])]), '413');
  bytesCase(`more BYTES images than a request takes (${limits.files + 1})`, [limits.files + 1], bytesElements(new Array(limits.files + 1).fill(png)), '400');
  addBinary(
    'BYTES for the FP32 tensor input',
    { inputs: [{ name: INPUT, datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 4 + png.length } }] },
    bytesElements([png]),
    '400',
  );

  // The versioned form takes the same body and gives the same refusals.
  addBinary('versioned: a binary FP32 tensor (valid)', one, rows(1), '200', undefined, '/v2/models/cls/versions/1/infer');
  addBinary('versioned: Inference-Header-Content-Length past the body', one, rows(1), '400', header + ROW_BYTES + 1, '/v2/models/cls/versions/1/infer');
  addBinary('versioned: truncated tensor', one, rows(1).subarray(1), '400', undefined, '/v2/models/cls/versions/1/infer');
  addBinary('versioned: a version that does not serve', one, rows(1), '404', undefined, '/v2/models/cls/versions/2/infer');
  for (const c of cases) if (c.name.includes('versioned:')) c.route = '/v2/models/{name}/versions/{version}/infer';
  return cases;
}
