/** Runs and options for DynamicBatcher suites: batches on the test's terms, on the fake clock. */
import type { BatcherOptions, RunBatch } from '../../dist/src/engine/batcher.js';

type RunInfo = Parameters<RunBatch<unknown, unknown>>[1];

/** A suite's batcher options: its defaults (one batch in flight unless they say more), then each test's. */
export const batcherOptions =
  (defaults: Omit<BatcherOptions, 'maxInFlight'> & Partial<BatcherOptions>) =>
  (over: Partial<BatcherOptions> = {}): BatcherOptions => ({ maxInFlight: 1, ...defaults, ...over });

/**
 * A run whose batches stay open until the test settles them, counting how many are open at once.
 * `settle()` answers a batch with `answer` applied to each item.
 */
export function manualRun<I, O>(answer?: (item: I) => O) {
  const batches: { items: I[]; info: RunInfo; resolve: (out: O[]) => void; reject: (e: unknown) => void; settle: () => void }[] = [];
  let active = 0;
  let peak = 0;
  const run: RunBatch<I, O> = (items, info) =>
    new Promise<O[]>((resolve, reject) => {
      active++;
      peak = Math.max(peak, active);
      const done = () => active--;
      batches.push({
        items,
        info,
        resolve: (out) => (done(), resolve(out)),
        reject: (e) => (done(), reject(e)),
        settle: () => {
          if (answer === undefined) throw new Error('settle() needs the answer function given to manualRun');
          done();
          resolve(items.map(answer));
        },
      });
    });
  return { run, batches, peak: () => peak, active: () => active };
}

/** A run that answers at once, recording what it was given. */
export function instantRun<I, O>(map: (item: I) => O) {
  const calls: { items: I[]; info: RunInfo }[] = [];
  const run: RunBatch<I, O> = async (items, info) => {
    calls.push({ items: [...items], info });
    return items.map(map);
  };
  return { run, calls };
}

/** A run of known speed on the (fake) clock: each batch takes msPerItem × its size and answers items × 10. */
export function timedRun(msPerItem: number) {
  const sizes: number[] = [];
  const run: RunBatch<number, number> = (items) =>
    new Promise((resolve) => {
      sizes.push(items.length);
      setTimeout(() => resolve(items.map((x) => x * 10)), msPerItem * items.length);
    });
  return { run, sizes };
}
