import { z } from 'zod';
import { bigintToNumber } from './tensor-access.js';
import type { Head } from './types.js';

export const rawOptions = z.strictObject({});
export type RawOptions = z.output<typeof rawOptions>;

export interface RawOutput {
  dims: number[];
  data: number[];
}

export interface RawAnswer {
  outputs: Record<string, RawOutput>;
}

const TASK = 'raw';

/** Every output as plain JSON-ready arrays; int64 values must fit a number exactly. */
export const rawHead: Head<RawOptions, RawAnswer> = {
  task: TASK,
  options: rawOptions,
  run(outputs) {
    const answer: Record<string, RawOutput> = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      const { data } = tensor;
      let values: number[];
      if (data instanceof BigInt64Array) {
        values = new Array<number>(data.length);
        for (let i = 0; i < data.length; i++) values[i] = bigintToNumber(TASK, data[i]);
      } else {
        values = Array.from(data);
      }
      // defineProperty so an output named "__proto__" stays an ordinary key.
      Object.defineProperty(answer, name, {
        value: { dims: Array.from(tensor.dims), data: values },
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return { outputs: answer };
  },
};
