import { describe, expect, it, vi } from 'vitest';
import { batcherOptions, manualRun as manualRunOf } from './helpers/batch-runs.js';
import { flush, useFakeClock } from './helpers/fake-clock.js';
import { DynamicBatcher } from '../dist/src/engine/batcher.js';

const options = batcherOptions({ maxBatchSize: 8, maxQueueDelayMs: 50, maxQueueSize: 100 });
/** Batches stay open until the test settles them, answering items × 10. */
const manualRun = () => manualRunOf<number, number>((x) => x * 10);

/**
 * `m` has run one batch, of items 1, 2, …; settled, each answers its item × 10 after the wait
 * given for it, in a batch of them all.
 */
async function settleOnlyBatch(m: ReturnType<typeof manualRun>, answers: Promise<unknown>[], queueMs: number[]): Promise<void> {
  expect(m.batches.map((x) => x.items)).toEqual([answers.map((_, i) => i + 1)]);
  m.batches[0].settle();
  for (const [i, answer] of answers.entries()) {
    expect(await answer).toEqual({ output: (i + 1) * 10, queueMs: queueMs[i], batchSize: answers.length });
  }
}

useFakeClock();

describe('DynamicBatcher dispatch on a free instance', () => {
  it('dispatches a lone request on an idle instance without waiting for the delay', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options(), m.run);
    const lone = batcher.enqueue(1);
    await flush();
    // Dispatched before the delay timer could fire: no timer is even pending.
    expect(m.batches.map((b) => b.items)).toEqual([[1]]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(7);
    m.batches[0].settle();
    const result = await lone;
    expect(result).toEqual({ output: 10, queueMs: 0, batchSize: 1 });
    expect(result.queueMs).toBeLessThan(50);
    expect(batcher.stats()).toMatchObject({ queueMs: 0, dispatchedBatches: 1 });
  });

  it('sends a request to the idle instance at once while another instance is busy', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options({ maxInFlight: 2 }), m.run);
    const first = batcher.enqueue(1);
    await flush();
    await vi.advanceTimersByTimeAsync(5);
    const second = batcher.enqueue(2);
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[1], [2]]);
    m.batches[1].settle();
    m.batches[0].settle();
    expect((await second).queueMs).toBe(0);
    expect((await first).queueMs).toBe(0);
  });

  it('batches the requests that arrive while every instance is busy, and a freed instance takes them all', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options({ maxInFlight: 2, maxBatchSize: 4 }), m.run);
    const busy = [batcher.enqueue(1)];
    await flush();
    busy.push(batcher.enqueue(2));
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[1], [2]]);
    expect(batcher.inFlight).toBe(2);
    const waiting: Promise<{ output: number; queueMs: number; batchSize: number }>[] = [];
    for (const [i, gap] of [3, 4, 2, 1, 6].entries()) {
      waiting.push(batcher.enqueue(100 + i));
      await vi.advanceTimersByTimeAsync(gap);
    }
    // Every instance is busy: they gather.
    expect(m.batches).toHaveLength(2);
    expect(batcher.queueLength).toBe(5);
    m.batches[0].settle();
    await flush();
    // The freed instance takes a full batch of what gathered; the fifth waits for the next one.
    expect(m.batches[2].items).toEqual([100, 101, 102, 103]);
    expect(batcher.queueLength).toBe(1);
    m.batches[1].settle();
    await flush();
    expect(m.batches[3].items).toEqual([104]);
    m.batches[2].settle();
    m.batches[3].settle();
    const results = await Promise.all(waiting);
    expect(results.map((r) => r.batchSize)).toEqual([4, 4, 4, 4, 1]);
    expect(results.map((r) => r.queueMs)).toEqual([16, 13, 9, 7, 6]);
    await Promise.all(busy);
  });

  it('holds a free instance for items being prepared, and lets the queued ones go when the last preparation fails', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 4 }), m.run);
    const slots = [batcher.reserve(), batcher.reserve()];
    const a = batcher.enqueue(1);
    await vi.advanceTimersByTimeAsync(10);
    // Two admitted items are still decoding: the instance waits for them.
    expect(m.batches).toHaveLength(0);
    const b = slots[0].enqueue(2);
    await vi.advanceTimersByTimeAsync(10);
    expect(m.batches).toHaveLength(0);
    // The last one fails to decode: nothing more is on its way, the two go at once.
    slots[1].release();
    await flush();
    await settleOnlyBatch(m, [a, b], [20, 10]);
  });

  it('with waitWhenIdle holds a free instance for maxQueueDelayMs after the oldest item', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options({ waitWhenIdle: true }), m.run);
    const a = batcher.enqueue(1);
    await vi.advanceTimersByTimeAsync(20);
    const b = batcher.enqueue(2);
    await vi.advanceTimersByTimeAsync(29);
    expect(m.batches).toHaveLength(0);
    expect(batcher.queueLength).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    await settleOnlyBatch(m, [a, b], [50, 30]);
  });

  it('never holds when maxQueueDelayMs is 0', async () => {
    const m = manualRun();
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 2, maxQueueDelayMs: 0 }), m.run);
    const slot = batcher.reserve();
    const a = batcher.enqueue(1);
    await flush();
    await settleOnlyBatch(m, [a], [0]);
    slot.release();
  });
});
