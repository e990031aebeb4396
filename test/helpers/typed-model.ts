import { OnnxGraph, type ElemType } from './onnx-graph.js';

/** One input and its output in the typed model: what the output holds for an input row. */
export interface TypedPort {
  input: string;
  output: string;
  type: ElemType;
}

export const TYPED_PORTS: readonly TypedPort[] = [
  { input: 'ids', output: 'ids_plus_10', type: 'int64' },
  { input: 'counts', output: 'counts_out', type: 'int32' },
  { input: 'pixels', output: 'pixels_out', type: 'uint8' },
  { input: 'flags', output: 'flags_not', type: 'bool' },
  { input: 'half', output: 'half_out', type: 'float16' },
  { input: 'wide', output: 'wide_out', type: 'float64' },
  { input: 'small', output: 'small_out', type: 'int8' },
  { input: 'values', output: 'values_times_2', type: 'float32' },
];

/**
 * A model with one [N, 2] input of each element type and one output per input: ids + 10 (int64),
 * NOT flags (bool), values · 2 (float32), the others passed through (Identity).
 */
export function typedModel(): Uint8Array {
  const g = new OnnxGraph('typed_model');
  for (const p of TYPED_PORTS) {
    g.input(p.input, p.type, ['N', 2]).output(p.output, p.type, ['N', 2]);
    if (p.input === 'ids') g.node('Add', [p.input, g.constant('int64', [], [10], 'ten')], [p.output]);
    else if (p.input === 'flags') g.node('Not', [p.input], [p.output]);
    else if (p.input === 'values') g.node('Mul', [p.input, g.constant('float32', [], [2], 'two')], [p.output]);
    else g.node('Identity', [p.input], [p.output]);
  }
  return g.build();
}
