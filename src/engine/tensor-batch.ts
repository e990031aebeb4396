import type { LoadedModel, TensorData } from '../backends/backend.js';
import { ELEMENT_TYPES, elementTypeOf, elementView, type ElementArray, type TypedTensor } from '../backends/element-types.js';
import type { ItemOutcome, TensorLayout, TensorWorkerItem } from './worker-protocol.js';

/** What a tensor batch gives back besides the worker's heap (the worker adds that). */
export interface TensorBatchReply {
  results: ItemOutcome[];
  /** fill: joining the items' tensors; run: the session; head: cutting the outputs per item. */
  timing: { fillMs: number; runMs: number; headMs: number };
  inputBytes: number;
}

const elementCount = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** The item's view of one of its inputs, over its own buffer (no copy). */
function inputView(item: TensorWorkerItem, layout: TensorLayout): ElementArray {
  return elementView(layout.type, item.pixels, layout.byteOffset, elementCount(layout.dims));
}

/**
 * Where a batch's joined inputs are written, kept from batch to batch and grown to the largest (as
 * the image path keeps its batch input): one batch runs at a time in a worker, every byte of the
 * joined inputs is written before the run, and the runtimes do not keep their inputs.
 */
let joinMemory = new ArrayBuffer(0);

function joinBuffer(bytes: number): ArrayBuffer {
  if (joinMemory.byteLength < bytes) joinMemory = new ArrayBuffer(bytes);
  return joinMemory;
}

const align8 = (n: number) => (n + 7) & ~7;

/**
 * Runs tensor items as one batch, in the worker: a lone item runs as it came; several (each one
 * row of a batched input) are joined along the first dim per input, and every output whose first
 * dim is the batch's rows is cut back into each item's rows, in item order. An output without
 * that first dim goes whole to every item.
 */
export async function runTensorBatch(model: LoadedModel, items: TensorWorkerItem[]): Promise<TensorBatchReply> {
  const t0 = performance.now();
  const first = items[0];
  const rows = items.map((item) => item.tensors[0]?.dims[0] ?? 1);
  const total = rows.reduce((a, b) => a + b, 0);
  const inputs: Record<string, TypedTensor> = {};
  let inputBytes = 0;
  const sizes = first.tensors.map((layout) => align8(elementCount(layout.dims.slice(1)) * total * ELEMENT_TYPES[layout.type].bytes));
  const memory = items.length === 1 ? undefined : joinBuffer(sizes.reduce((a, b) => a + b, 0));
  let joinedAt = 0;
  first.tensors.forEach((layout, k) => {
    if (memory === undefined) {
      inputs[layout.name] = { type: layout.type, dims: [...layout.dims], data: inputView(first, layout) };
    } else {
      const per = elementCount(layout.dims.slice(1));
      const joined = elementView(layout.type, memory, joinedAt, per * total);
      joinedAt += sizes[k];
      let at = 0;
      for (const item of items) {
        const view = inputView(item, item.tensors[k]);
        (joined as Uint8Array).set(view as Uint8Array, at);
        at += view.length;
      }
      inputs[layout.name] = { type: layout.type, dims: [total, ...layout.dims.slice(1)], data: joined };
    }
    inputBytes += inputs[layout.name].data.byteLength;
  });
  const wanted = items.some((item) => item.outputs === undefined) ? undefined : [...new Set(items.flatMap((item) => item.outputs!))];

  const t1 = performance.now();
  const outputs = await runInputs(model, inputs, wanted);
  const t2 = performance.now();

  let offset = 0;
  const results: ItemOutcome[] = items.map((item, i) => {
    const from = offset;
    offset += rows[i];
    const tensors: Record<string, TypedTensor> = {};
    for (const name of item.outputs ?? Object.keys(outputs)) {
      const t = outputs[name];
      if (t === undefined) return { ok: false, error: `the model gave no output ${name}`, code: 'inference_failed' };
      tensors[name] = items.length > 1 && t.dims[0] === total ? rowsOf(t, from, rows[i], total) : { ...t, data: items.length > 1 ? t.data.slice() : t.data };
    }
    return { ok: true, value: null, tensors };
  });
  const t3 = performance.now();
  return { results, timing: { fillMs: t1 - t0, runMs: t2 - t1, headMs: t3 - t2 }, inputBytes };
}

/** Rows [from, from + count) of a batch output, copied (a view would send its whole buffer along). */
function rowsOf(t: TypedTensor, from: number, count: number, total: number): TypedTensor {
  const per = t.data.length / total;
  return { type: t.type, dims: [count, ...t.dims.slice(1)], data: t.data.slice(from * per, (from + count) * per) };
}

/**
 * Through the backend's tensor entry; a backend without one (TensorFlow.js) takes a single input
 * of the element types its image run takes.
 */
async function runInputs(model: LoadedModel, inputs: Record<string, TypedTensor>, wanted: readonly string[] | undefined): Promise<Record<string, TypedTensor>> {
  if (model.runTensors) return model.runTensors(inputs, wanted);
  const entries = Object.entries(inputs);
  const [name, tensor] = entries[0];
  if (entries.length !== 1 || !['float32', 'int32', 'uint8'].includes(tensor.type)) {
    throw new Error(`this backend takes one float32, int32 or uint8 input; got ${entries.map(([n, t]) => `${n} (${t.type})`).join(', ')}`);
  }
  const out = await model.run(name, { dims: tensor.dims, data: tensor.data as TensorData['data'] }, wanted);
  return Object.fromEntries(Object.entries(out).map(([n, t]) => [n, { type: elementTypeOf(t.data), dims: t.dims, data: t.data }]));
}
