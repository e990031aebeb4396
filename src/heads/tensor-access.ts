import { outputMismatch } from './output-error.js';
import type { ItemTensor } from './types.js';

/** Numeric view of a tensor that hot loops can index without caring about the element type. */
export type NumericData = Float32Array | Float64Array;

/**
 * The output a head reads: the named one when configured, otherwise the only one.
 * Guessing among several outputs would silently read the wrong tensor, so that is an error.
 */
export function pickOutput(task: string, outputs: Record<string, ItemTensor>, name: string | undefined): ItemTensor {
  const names = Object.keys(outputs);
  if (name !== undefined) {
    const tensor = Object.hasOwn(outputs, name) ? outputs[name] : undefined;
    if (!tensor) throw outputMismatch(task, `output "${name}" not found (model outputs: ${names.join(', ') || 'none'})`);
    return checkSize(task, name, tensor);
  }
  if (names.length !== 1) {
    throw outputMismatch(task, `model has ${names.length} outputs (${names.join(', ') || 'none'}); set the "output" option to pick one`);
  }
  const only = names[0];
  return checkSize(task, only, outputs[only]);
}

/**
 * At load, the output a head will read, as the model declares it (symbolic dims as names):
 * undefined when which one is not yet known (pickOutput reports that when the head runs).
 */
export function declaredOutput(
  outputs: Record<string, ReadonlyArray<number | string>>,
  name: string | undefined,
): { name: string; dims: ReadonlyArray<number | string> } | undefined {
  const names = Object.keys(outputs);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  const dims = chosen === undefined ? undefined : outputs[chosen];
  return chosen === undefined || dims === undefined ? undefined : { name: chosen, dims };
}

/**
 * At load, whether a per-label output ([N, C] or [N, C, 1, ...]) declares as many classes as the
 * head has labels: the problem naming head.labels, or undefined (also when the dims are symbolic
 * or batch-shaped: run() checks those per batch).
 */
export function labelCountProblem(
  outputs: Record<string, ReadonlyArray<number | string>>,
  options: { output?: string | undefined; labels: readonly string[] },
): { field: string; message: string } | undefined {
  const declared = declaredOutput(outputs, options.output);
  if (declared === undefined) return undefined;
  const { name, dims } = declared;
  const count = dims.length >= 2 && dims.slice(2).every((d) => d === 1) ? dims[1] : undefined;
  if (typeof count !== 'number' || count === options.labels.length) return undefined;
  return {
    field: 'head.labels',
    message: `${options.labels.length} labels configured but output "${name}" has ${count} classes (dims [${dims.join(', ')}])`,
  };
}

function checkSize(task: string, name: string, tensor: ItemTensor): ItemTensor {
  let count = 1;
  for (const d of tensor.dims) count *= d;
  if (count !== tensor.data.length) {
    throw outputMismatch(task, `output "${name}" has dims [${tensor.dims.join(', ')}] but ${tensor.data.length} values`);
  }
  return tensor;
}

/** A 64-bit integer as a JS number, refusing values that would lose precision. */
export function bigintToNumber(task: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw outputMismatch(task, `int64 value ${value} is outside the exactly representable number range`);
  }
  return Number(value);
}

/**
 * Float data for numeric heads. Float32 (the usual case) is returned as is; other element types are
 * widened once into a Float64Array so integer values stay exact.
 */
export function numericData(task: string, tensor: ItemTensor): NumericData {
  const { data } = tensor;
  if (data instanceof Float32Array) return data;
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) out[i] = bigintToNumber(task, data[i]);
  } else {
    out.set(data);
  }
  return out;
}

/**
 * The dims of a head's output, checked against `shape`: numbers must match, names (`'C'`, `'H'`)
 * stand for any size and say what the head reads there, e.g. `[1, 'C', 'H', 'W']`.
 */
export function outputDims<const S extends readonly (number | string)[]>(task: string, tensor: ItemTensor, shape: S): { -readonly [K in keyof S]: number } {
  const { dims } = tensor;
  if (dims.length !== shape.length || shape.some((d, i) => typeof d === 'number' && dims[i] !== d)) {
    throw outputMismatch(task, `expected output dims [${shape.join(', ')}], got [${dims.join(', ')}]`);
  }
  // As many dims as the shape names, just checked.
  return [...dims] as { -readonly [K in keyof S]: number };
}

/** Float32 values, as probability maps are compared in their own precision; others are narrowed once. */
export function float32Data(task: string, tensor: ItemTensor): Float32Array {
  const data = numericData(task, tensor);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
