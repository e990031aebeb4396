import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamicBatcher, type RunBatch } from '../dist/src/engine/batcher.js';
import { RingQueue } from '../dist/src/engine/queue-ring.js';

describe('RingQueue', () => {
  it('keeps FIFO order across growth and wrap-around', () => {
    const queue = new RingQueue<number>(4);
    const out: number[] = [];
    for (let i = 0; i < 3; i++) queue.push(i);
    out.push(queue.shift() as number, queue.shift() as number);
    for (let i = 3; i < 40; i++) queue.push(i);
    expect(queue.size).toBe(38);
    expect(queue.peek()).toBe(2);
    while (queue.size > 0) out.push(queue.shift() as number);
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(queue.shift()).toBeUndefined();
  });

  it('retain keeps the accepted values in order', () => {
    const queue = new RingQueue<number>(4);
    for (let i = 0; i < 6; i++) queue.push(i);
    queue.shift();
    for (let i = 6; i < 30; i++) queue.push(i);
    queue.retain((x) => x % 3 === 0);
    expect(queue.size).toBe(9);
    const out: number[] = [];
    while (queue.size > 0) out.push(queue.shift() as number);
    expect(out).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27]);
  });
});

describe('DynamicBatcher with a deep queue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves thousands of queued items in order after half of them were aborted', async () => {
    const batches: { items: number[]; resolve: (out: number[]) => void }[] = [];
    const run: RunBatch<number, number> = (items) => new Promise((resolve) => batches.push({ items, resolve }));
    const batcher = new DynamicBatcher<number, number>({ maxBatchSize: 64, maxQueueDelayMs: 0, maxQueueSize: 20_000, maxInFlight: 1 }, run);
    const blocker = batcher.enqueue(-1);
    await vi.advanceTimersByTimeAsync(0);
    const controllers: AbortController[] = [];
    const results: Promise<number | string>[] = [];
    for (let i = 0; i < 20_000; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      results.push(
        batcher.enqueue(i, { signal: controller.signal, priority: i % 5 === 0 ? 'low' : 'high' }).then(
          (r) => r.output,
          (e: Error) => e.name,
        ),
      );
    }
    for (let i = 1; i < 20_000; i += 2) controllers[i]?.abort();
    expect(batcher.queueLength).toBe(10_000);
    expect(batcher.stats().cancelled).toBe(10_000);

    batches[0]?.resolve([-1]);
    for (let served = 1; served < batches.length + 1 && batcher.queueLength + batcher.inFlight > 0; served++) {
      await vi.advanceTimersByTimeAsync(0);
      const batch = batches[served];
      if (batch === undefined) break;
      batch.resolve(batch.items.map((x) => x * 2));
    }
    await vi.advanceTimersByTimeAsync(0);
    await blocker;
    const outputs = await Promise.all(results);
    expect(outputs.filter((o) => o === 'AbortError')).toHaveLength(10_000);
    expect(outputs.filter((_, i) => i % 2 === 0)).toEqual(Array.from({ length: 10_000 }, (_, k) => 4 * k));
    // 10,000 items in batches of 64: 156 full batches and one of 16, after the blocker.
    expect(batches).toHaveLength(158);
    expect(batcher.stats().batchSizeHistogram).toEqual({ 1: 1, 16: 1, 64: 156 });
    // High items (even i not divisible by 5) precede low ones (multiples of 10 survive the aborts).
    const order = batches.slice(1).flatMap((b) => b.items);
    expect(order.slice(0, 8000).every((x) => x % 10 !== 0)).toBe(true);
    expect(order.slice(8000).every((x) => x % 10 === 0)).toBe(true);
  });
});
