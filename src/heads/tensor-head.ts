import type { z } from 'zod';
import { pickOutput } from './tensor-access.js';
import type { Head, ImageGeometry, ItemTensor } from './types.js';

/**
 * A head that reads one output: the one its `output` option names, or the model's only one (see
 * pickOutput). `read` gets that tensor; `checks` adds the load-time check of a head that has one.
 */
export function tensorHead<O extends { output?: string | undefined }, R>(
  task: string,
  options: z.ZodType<O>,
  read: (tensor: ItemTensor, geometry: ImageGeometry, options: O) => R,
  checks: Pick<Head<O, R>, 'checkOutputs'> = {},
): Head<O, R> {
  return { task, options, run: (outputs, geometry, o) => read(pickOutput(task, outputs, o.output), geometry, o), ...checks };
}
