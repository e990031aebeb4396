import { protocolError } from './protocol-error.js';

/**
 * BYTES tensors as binary data: each element is a 4-byte little-endian length followed by that
 * many bytes (Triton's binary tensor data extension).
 */
export function decodeBytesElements(section: Uint8Array, count: number, what: string): Uint8Array[] {
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  const elements: Uint8Array[] = [];
  let at = 0;
  while (at < section.byteLength) {
    if (at + 4 > section.byteLength) throw protocolError(400, `${what}: BYTES element ${elements.length} is cut short in its 4-byte length`);
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > section.byteLength) {
      throw protocolError(400, `${what}: BYTES element ${elements.length} says ${length} bytes but ${section.byteLength - at} remain`);
    }
    elements.push(section.subarray(at, at + length));
    at += length;
  }
  if (elements.length !== count) throw protocolError(400, `${what}: holds ${elements.length} BYTES elements; its shape has ${count}`);
  return elements;
}

export function encodeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  const size = elements.reduce((n, e) => n + 4 + e.byteLength, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of elements) {
    view.setUint32(at, e.byteLength, true);
    out.set(e, at + 4);
    at += 4 + e.byteLength;
  }
  return out;
}
