import { ELEMENT_TYPES, type ElementType } from '../backends/element-types.js';
import type { TensorLayout, TensorWorkerItem } from './worker-protocol.js';

/** One input of a tensor request: its little-endian bytes in the model's own type and layout. */
export interface TensorInput {
  name: string;
  type: ElementType;
  dims: number[];
  bytes: Uint8Array;
}

/**
 * What the batcher queues for the tensor entry: one row of every input of a request (or the whole
 * request, for a model whose inputs have no variable first dim), packed in one buffer.
 */
export interface TensorItem {
  readonly kind: 'tensors';
  readonly buffer: ArrayBuffer;
  readonly tensors: TensorLayout[];
  readonly outputs: readonly string[] | undefined;
  /** Items batch only with items of the same key: the same inputs, types and dims past the first. */
  readonly shapeKey: string;
}

export const isTensorItem = (item: object): item is TensorItem => (item as Partial<TensorItem>).kind === 'tensors';

const elementCount = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);
/** Every input starts on an 8-byte boundary, so each can be viewed in place by its typed array. */
const align8 = (n: number) => (n + 7) & ~7;

let unbatched = 0;

/**
 * Splits a request into batcher items, in order: with `batched`, one item per row of the inputs'
 * first dim (which every input shares); otherwise the request is one item that batches with no other.
 */
export function tensorItems(inputs: readonly TensorInput[], outputs: readonly string[] | undefined, batched: boolean): TensorItem[] {
  if (!batched)
    return [
      pack(
        inputs.map((input) => ({ input, from: 0, to: input.bytes.byteLength, dims: input.dims })),
        outputs,
        `tensors|alone|${++unbatched}`,
      ),
    ];
  const rows = inputs[0]?.dims[0] ?? 0;
  const key = `tensors|${inputs.map((i) => `${i.name}:${i.type}:${i.dims.slice(1).join('x')}`).join('|')}`;
  const items: TensorItem[] = [];
  for (let r = 0; r < rows; r++) {
    items.push(
      pack(
        inputs.map((input) => {
          const rowBytes = elementCount(input.dims.slice(1)) * ELEMENT_TYPES[input.type].bytes;
          return { input, from: r * rowBytes, to: (r + 1) * rowBytes, dims: [1, ...input.dims.slice(1)] };
        }),
        outputs,
        key,
      ),
    );
  }
  return items;
}

function pack(
  parts: Array<{ input: TensorInput; from: number; to: number; dims: number[] }>,
  outputs: readonly string[] | undefined,
  shapeKey: string,
): TensorItem {
  let size = 0;
  const tensors: TensorLayout[] = parts.map(({ input, from, to, dims }) => {
    const byteOffset = align8(size);
    size = byteOffset + (to - from);
    return { name: input.name, type: input.type, dims, byteOffset };
  });
  const bytes = new Uint8Array(size);
  parts.forEach(({ input, from, to }, k) => bytes.set(input.bytes.subarray(from, to), tensors[k].byteOffset));
  return { kind: 'tensors', buffer: bytes.buffer, tensors, outputs, shapeKey };
}

/** The item as it travels to a worker (its buffer is transferred). */
export function tensorWorkerItem(item: TensorItem): TensorWorkerItem {
  return { pixels: item.buffer, tensors: item.tensors, ...(item.outputs ? { outputs: item.outputs } : {}) };
}
