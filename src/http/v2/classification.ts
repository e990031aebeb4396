import type { TypedTensor } from '../../backends/element-types.js';
import { datatypeOf } from './datatypes.js';
import { protocolError } from './protocol-error.js';

/**
 * Triton's classification extension: an output's top `count` classes, each as
 * "<value>:<index>[:<label>]", highest value first, per row of the batch when the model batches
 * (shape [rows, n]) or over the whole tensor (shape [n]). Values are written as C++'s
 * std::to_string writes them (integers plain, floats with six decimals), as Triton does.
 */
export function classifications(
  tensor: TypedTensor,
  count: number,
  batched: boolean,
  labels: readonly string[] | undefined,
  name: string,
): { shape: number[]; elements: Uint8Array[] } {
  if (tensor.type === 'float16' || tensor.type === 'bool') {
    throw protocolError(400, `class result not available for output '${name}' due to unsupported type '${datatypeOf(tensor.type)}'`);
  }
  const rows = batched && tensor.dims.length > 0 ? tensor.dims[0] : 1;
  const per = rows === 0 ? 0 : tensor.data.length / rows;
  const n = Math.min(count, per);
  const encoder = new TextEncoder();
  const elements: Uint8Array[] = [];
  const float = tensor.type === 'float32' || tensor.type === 'float64';
  for (let r = 0; r < rows; r++) {
    const row = tensor.data.subarray(r * per, (r + 1) * per) as ArrayLike<number | bigint>;
    const order = Array.from({ length: per }, (_, i) => i).sort((a, b) => (row[b] > row[a] ? 1 : row[b] < row[a] ? -1 : a - b));
    for (const index of order.slice(0, n)) {
      const value = row[index];
      const label = labels?.[index];
      elements.push(encoder.encode(`${float ? cppFixed(Number(value)) : String(value)}:${index}${label === undefined ? '' : `:${label}`}`));
    }
  }
  return { shape: batched && tensor.dims.length > 0 ? [rows, n] : [n], elements };
}

/** printf("%f"): six decimals of the exact binary value, an exact tie rounded to even; nan, inf. */
export function cppFixed(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const abs = Math.abs(x);
  if (abs >= 1e21) return `${sign}${BigInt(abs).toString()}.000000`;
  const exact = abs.toFixed(30);
  const [whole, fraction] = exact.split('.') as [string, string];
  // toFixed rounds a tie away from zero; printf to even. Only an exact tie can differ.
  if (fraction[6] === '5' && /^0*$/.test(fraction.slice(7))) {
    const down = `${whole}.${fraction.slice(0, 6)}`;
    if (Number(fraction[5]) % 2 === 0) return sign + down;
  }
  return sign + abs.toFixed(6);
}
