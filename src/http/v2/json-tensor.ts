import { ELEMENT_TYPES, type ElementArray, type ElementType } from '../../backends/element-types.js';
import { DATATYPES, type Datatype } from './datatypes.js';
import { protocolError } from './protocol-error.js';

/**
 * Tensor data as JSON: row-major elements, flat or nested. Elements are checked against the
 * datatype rather than coerced (a number for a BOOL, a fraction or an out-of-range value for an
 * integer type is a 400), as Triton refuses them.
 */

/** The elements of `data` in row-major order, however it nests them. */
export function flattenData(data: readonly unknown[], what: string): unknown[] {
  const out: unknown[] = [];
  // Iterative, so a deeply nested array cannot exhaust the stack.
  const stack: Array<{ list: readonly unknown[]; at: number }> = [{ list: data, at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.at === top.list.length) {
      stack.pop();
      continue;
    }
    const value = top.list[top.at++];
    if (Array.isArray(value)) {
      if (stack.length >= 64) throw protocolError(400, `${what}: data nests deeper than 64 arrays`);
      stack.push({ list: value, at: 0 });
    } else {
      out.push(value);
    }
  }
  return out;
}

const INTEGER_RANGE: Partial<Record<ElementType, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

/** Fixed-size elements from JSON values, as their little-endian bytes. */
export function jsonToBytes(datatype: Exclude<Datatype, 'BYTES' | 'BF16' | 'FP16'>, values: readonly unknown[], what: string): Uint8Array {
  const type = DATATYPES[datatype];
  const array = new ELEMENT_TYPES[type].array(values.length) as ElementArray;
  const bad = (i: number, rule: string): never => {
    throw protocolError(400, `${what}: element ${i} is ${JSON.stringify(values[i]) ?? String(values[i])}; ${datatype} takes ${rule}`);
  };
  if (type === 'bool') {
    values.forEach((v, i) => {
      if (typeof v !== 'boolean') bad(i, 'true or false');
      (array as Uint8Array)[i] = v ? 1 : 0;
    });
  } else if (type === 'float32' || type === 'float64') {
    values.forEach((v, i) => {
      if (typeof v !== 'number') bad(i, 'numbers');
      (array as Float32Array)[i] = v as number;
    });
  } else if (type === 'int64' || type === 'uint64') {
    const min = type === 'int64' ? -(2n ** 63n) : 0n;
    const max = type === 'int64' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v)) bad(i, 'integers');
      const n = BigInt(v as number);
      if (n < min || n > max) bad(i, `integers from ${min} to ${max}`);
      (array as BigInt64Array)[i] = n;
    });
  } else {
    const [min, max] = INTEGER_RANGE[type]!;
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(i, `integers from ${min} to ${max}`);
      (array as Int32Array)[i] = v as number;
    });
  }
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

const utf8 = new TextEncoder();

/** BYTES elements from JSON strings, each as its UTF-8 bytes. */
export function jsonToElements(values: readonly unknown[], what: string): Uint8Array[] {
  return values.map((v, i) => {
    if (typeof v !== 'string') throw protocolError(400, `${what}: element ${i} is ${JSON.stringify(v) ?? String(v)}; BYTES takes strings`);
    return utf8.encode(v);
  });
}

/** A float as JSON writes it, keeping the sign of zero; JSON has no NaN or infinity, so those are null. */
const floatJson = (v: number) => (Object.is(v, -0) ? '-0' : Number.isFinite(v) ? String(v) : 'null');

/** Elements as a JSON array's text; 64-bit integers are written exactly. */
export function elementsJson(type: ElementType, data: ElementArray): string {
  if (type === 'bool') return `[${Array.from(data as Uint8Array, (v) => (v === 0 ? 'false' : 'true')).join(',')}]`;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return `[${Array.from(data, String).join(',')}]`;
  if (type === 'float32' || type === 'float64') return `[${Array.from(data as Float32Array, floatJson).join(',')}]`;
  return `[${Array.from(data as Int32Array, String).join(',')}]`;
}
