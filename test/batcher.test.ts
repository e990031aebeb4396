import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { batcherOptions, instantRun, manualRun } from './helpers/batch-runs.js';
import { flush, useFakeClock } from './helpers/fake-clock.js';
import { DynamicBatcher } from '../dist/src/engine/batcher.js';
import { SightlineError } from '../dist/src/errors.js';

const options = batcherOptions({ maxBatchSize: 4, maxQueueDelayMs: 10, maxQueueSize: 100 });

useFakeClock();

describe('DynamicBatcher', () => {
  it('groups enqueues of one tick into one run and returns outputs in order', async () => {
    const { run, calls } = instantRun<number, number>((x) => x * 2);
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 16, maxQueueDelayMs: 5 }), run);
    const results = Promise.all(Array.from({ length: 10 }, (_, i) => batcher.enqueue(i)));
    await flush();
    const settled = await results;
    expect(calls.map((c) => c.items)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(calls[0]?.info).toEqual({ batchSize: 10, shapeKey: '' });
    expect(settled.map((r) => r.output)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(settled.map((r) => r.batchSize)).toEqual(Array(10).fill(10));
    // The instance was free: nobody waited for the delay.
    expect(settled.map((r) => r.queueMs)).toEqual(Array(10).fill(0));
  });

  it('never puts more than maxBatchSize items in a batch', async () => {
    const { run, calls } = instantRun<number, number>((x) => x + 100);
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 3, maxInFlight: 4 }), run);
    const results = Promise.all(Array.from({ length: 7 }, (_, i) => batcher.enqueue(i)));
    await flush();
    // Two full batches and, with instances still free, the remainder: all at once.
    expect(calls.map((c) => c.items)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect((await results).map((r) => [r.output, r.batchSize])).toEqual([
      [100, 3],
      [101, 3],
      [102, 3],
      [103, 3],
      [104, 3],
      [105, 3],
      [106, 1],
    ]);
  });

  it('holds a free instance for reserved items, at most until the oldest waited maxQueueDelayMs', async () => {
    const { run, calls } = instantRun<string, string>((s) => s.toUpperCase());
    const batcher = new DynamicBatcher<string, string>(options({ maxBatchSize: 3, maxQueueDelayMs: 50 }), run);
    const slots = [batcher.reserve(), batcher.reserve()];
    const a = batcher.enqueue('a');
    await vi.advanceTimersByTimeAsync(20);
    const b = slots[0].enqueue('b');
    await vi.advanceTimersByTimeAsync(29);
    // One place is still being prepared and would make the batch full: the instance waits for it.
    expect(calls).toHaveLength(0);
    expect(batcher.queueLength).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.items)).toEqual([['a', 'b']]);
    expect(await a).toEqual({ output: 'A', queueMs: 50, batchSize: 2 });
    expect(await b).toEqual({ output: 'B', queueMs: 30, batchSize: 2 });
    slots[1].release();
  });

  it('dispatches a lone item at once when maxQueueDelayMs is 0 (batching off with maxBatchSize 1)', async () => {
    const { run, calls } = instantRun<number, number>((x) => -x);
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 1, maxQueueDelayMs: 0, maxInFlight: 2 }), run);
    const one = batcher.enqueue(1);
    const two = batcher.enqueue(2);
    await flush();
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    expect(await one).toEqual({ output: -1, queueMs: 0, batchSize: 1 });
    expect(await two).toEqual({ output: -2, queueMs: 0, batchSize: 1 });
  });

  it('dispatches the largest preferred batch size available first, and holds for the smallest one while it is being prepared', async () => {
    const m = manualRun<number, number>();
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 8, maxQueueDelayMs: 1000, preferredBatchSizes: [2, 4], maxInFlight: 2 }), m.run);
    const first = Array.from({ length: 5 }, (_, i) => batcher.enqueue(i));
    await flush();
    // 4 is the largest preferred size that fits; the one left goes to the other free instance.
    expect(m.batches.map((b) => b.items)).toEqual([[0, 1, 2, 3], [4]]);
    m.batches[1].resolve([4]);
    await flush();
    // One queued and one being prepared make the preferred 2: the free instance waits for it.
    const slot = batcher.reserve();
    const second = batcher.enqueue(5);
    await vi.advanceTimersByTimeAsync(500);
    expect(m.batches).toHaveLength(2);
    const third = slot.enqueue(6);
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[0, 1, 2, 3], [4], [5, 6]]);
    m.batches[0].resolve([0, 1, 2, 3]);
    m.batches[2].resolve([5, 6]);
    expect((await Promise.all([...first, second, third])).map((r) => [r.batchSize, r.queueMs])).toEqual([
      [4, 0],
      [4, 0],
      [4, 0],
      [4, 0],
      [1, 0],
      [2, 500],
      [2, 0],
    ]);
  });

  it('keeps at most maxInFlight batches running and lets the queue fill meanwhile', async () => {
    const m = manualRun<number, number>();
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 4, maxQueueDelayMs: 0, maxInFlight: 2 }), m.run);
    const all = [batcher.enqueue(0), batcher.enqueue(1)];
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[0, 1]]);
    all.push(batcher.enqueue(2));
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[0, 1], [2]]);
    for (let i = 3; i < 9; i++) all.push(batcher.enqueue(i));
    await vi.advanceTimersByTimeAsync(100);
    expect(m.batches).toHaveLength(2);
    expect(batcher.inFlight).toBe(2);
    expect(batcher.queueLength).toBe(6);

    // A finishing batch frees a slot and the accumulated items go at once, as a full batch.
    m.batches[0]?.resolve([0, 10]);
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[0, 1], [2], [3, 4, 5, 6]]);
    expect(batcher.queueLength).toBe(2);
    m.batches[1]?.resolve([20]);
    await flush();
    expect(m.batches[3]?.items).toEqual([7, 8]);
    m.batches[2]?.resolve([30, 40, 50, 60]);
    m.batches[3]?.resolve([70, 80]);
    expect((await Promise.all(all)).map((r) => r.output)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    expect(m.peak()).toBe(2);
    expect(batcher.inFlight).toBe(0);
  });

  it('rejects at once with 503 overloaded and Retry-After when the queue is full', async () => {
    const m = manualRun<number, number>();
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueSize: 3, maxQueueDelayMs: 0 }), m.run);
    const running = batcher.enqueue(0);
    await flush();
    const queued = [1, 2, 3].map((i) => batcher.enqueue(i));
    expect(batcher.queueLength).toBe(3);
    const error = await batcher.enqueue(4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SightlineError);
    expect(error).toMatchObject({ status: 503, code: 'overloaded', retryAfter: 1 });
    expect(batcher.stats()).toMatchObject({ enqueued: 4, rejectedQueueFull: 1, queueLength: 3 });
    m.batches[0]?.resolve([0]);
    await flush();
    m.batches[1]?.resolve([1, 2, 3]);
    expect((await Promise.all([running, ...queued])).map((r) => r.output)).toEqual([0, 1, 2, 3]);
  });

  it('rejects an item still queued after queueTimeoutMs with 503 overloaded', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxQueueDelayMs: 0, queueTimeoutMs: 100 }), m.run);
    const running = batcher.enqueue('a');
    await flush();
    const late = batcher.enqueue('b').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(99);
    expect(batcher.queueLength).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const error = await late;
    expect(error).toBeInstanceOf(SightlineError);
    expect(error).toMatchObject({ status: 503, code: 'overloaded', retryAfter: 1 });
    expect(batcher.queueLength).toBe(0);
    // The dispatched item is not subject to the queue timeout.
    m.batches[0]?.resolve(['A']);
    expect(await running).toEqual({ output: 'A', queueMs: 0, batchSize: 1 });
    expect(m.batches).toHaveLength(1);
    expect(batcher.stats()).toMatchObject({ rejectedTimeout: 1, succeeded: 1 });
  });

  it('removes an item aborted while queued and still runs the others', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxQueueDelayMs: 50 }), m.run);
    const controller = new AbortController();
    const blocker = batcher.enqueue('x');
    await flush();
    const a = batcher.enqueue('a');
    const b = batcher.enqueue('b', { signal: controller.signal }).catch((e: unknown) => e);
    const c = batcher.enqueue('c');
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    const error = (await b) as Error;
    expect(error.name).toBe('AbortError');
    expect(batcher.queueLength).toBe(2);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    m.batches[0].resolve(['x!']);
    await flush();
    expect(m.batches.map((batch) => batch.items)).toEqual([['x'], ['a', 'c']]);
    m.batches[1].resolve(['a!', 'c!']);
    expect((await blocker).output).toBe('x!');
    expect((await a).output).toBe('a!');
    expect((await c).output).toBe('c!');

    const already = await batcher.enqueue('d', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect((already as Error).name).toBe('AbortError');
    expect(batcher.queueLength).toBe(0);
    expect(batcher.stats()).toMatchObject({ enqueued: 5, cancelled: 2, succeeded: 3 });
  });

  it('ignores an abort after dispatch and removes the listener', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxQueueDelayMs: 0 }), m.run);
    const controller = new AbortController();
    const a = batcher.enqueue('a', { signal: controller.signal });
    const b = batcher.enqueue('b');
    await flush();
    expect(m.batches.map((x) => x.items)).toEqual([['a', 'b']]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    m.batches[0]?.resolve(['A', 'B']);
    expect(await a).toEqual({ output: 'A', queueMs: 0, batchSize: 2 });
    expect(await b).toEqual({ output: 'B', queueMs: 0, batchSize: 2 });
    expect(batcher.stats()).toMatchObject({ cancelled: 0, succeeded: 2, failed: 0 });
  });

  it('fails only the batch whose run rejects, and the next batch works', async () => {
    let call = 0;
    const boom = new Error('model crashed');
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 2, maxQueueDelayMs: 0 }), async (items) => {
      call++;
      if (call === 1) throw boom;
      return items.map((x) => x * 3);
    });
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => batcher.enqueue(i)));
    await flush();
    expect(results).toEqual([
      { status: 'rejected', reason: boom },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: { output: 6, queueMs: 0, batchSize: 2 } },
      { status: 'fulfilled', value: { output: 9, queueMs: 0, batchSize: 2 } },
    ]);
    expect(batcher.stats()).toMatchObject({ failed: 2, succeeded: 2, failedBatches: 1, dispatchedBatches: 2 });
  });

  it('fails only the item whose slot holds an Error, and fails a miscounted batch whole', async () => {
    const bad = new Error('unreadable image');
    const perSlot = new DynamicBatcher<number, number>(options({ maxQueueDelayMs: 0 }), async (items) =>
      items.map((x) => (x === 1 ? (bad as unknown as number) : x * 10)),
    );
    const results = await Promise.allSettled([0, 1, 2].map((i) => perSlot.enqueue(i)));
    expect(results).toEqual([
      { status: 'fulfilled', value: { output: 0, queueMs: 0, batchSize: 3 } },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: { output: 20, queueMs: 0, batchSize: 3 } },
    ]);
    expect(perSlot.stats()).toMatchObject({ failed: 1, succeeded: 2, failedBatches: 0 });

    const miscount = new DynamicBatcher<number, number>(options({ maxQueueDelayMs: 0 }), async () => [1]);
    const both = await Promise.allSettled([miscount.enqueue(0), miscount.enqueue(1)]);
    for (const r of both) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason.message).toBe('batch run returned 1 outputs for a batch of 2 items');
    }
    expect(miscount.stats()).toMatchObject({ failed: 2, failedBatches: 1 });
  });

  it('batches only items of one shapeKey, oldest shape first', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxBatchSize: 8, maxQueueDelayMs: 10 }), m.run);
    const all = [
      batcher.enqueue('y1', { shapeKey: '3x64x64' }),
      batcher.enqueue('x1', { shapeKey: '3x32x32' }),
      batcher.enqueue('x2', { shapeKey: '3x32x32' }),
      batcher.enqueue('y2', { shapeKey: '3x64x64' }),
      batcher.enqueue('x3', { shapeKey: '3x32x32' }),
    ];
    await vi.advanceTimersByTimeAsync(10);
    expect(m.batches.map((b) => [b.info, b.items])).toEqual([[{ batchSize: 2, shapeKey: '3x64x64' }, ['y1', 'y2']]]);
    m.batches[0]?.resolve(['Y1', 'Y2']);
    await flush();
    expect(m.batches[1]?.info).toEqual({ batchSize: 3, shapeKey: '3x32x32' });
    expect(m.batches[1]?.items).toEqual(['x1', 'x2', 'x3']);
    m.batches[1]?.resolve(['X1', 'X2', 'X3']);
    expect((await Promise.all(all)).map((r) => r.output)).toEqual(['Y1', 'X1', 'X2', 'Y2', 'X3']);
  });

  it('batches high priority first, fills with low, and serves low items alone when no high ones wait', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxBatchSize: 3, maxQueueDelayMs: 0 }), m.run);
    const blocker = batcher.enqueue('b0');
    await flush();
    const low1 = batcher.enqueue('l1', { priority: 'low' });
    const low2 = batcher.enqueue('l2', { priority: 'low' });
    const high1 = batcher.enqueue('h1', { priority: 'high' });
    const high2 = batcher.enqueue('h2');
    await flush();
    m.batches[0]?.resolve(['B0']);
    await flush();
    expect(m.batches[1]?.items).toEqual(['h1', 'h2', 'l1']);
    m.batches[1]?.resolve(['H1', 'H2', 'L1']);
    await flush();
    expect(m.batches[2]?.items).toEqual(['l2']);
    m.batches[2]?.resolve(['L2']);
    expect((await Promise.all([blocker, low1, low2, high1, high2])).map((r) => r.output)).toEqual(['B0', 'L1', 'L2', 'H1', 'H2']);
  });

  it('lets a low item that waited lowPriorityAgingMs overtake newer high items', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxBatchSize: 2, maxQueueDelayMs: 0, lowPriorityAgingMs: 100 }), m.run);
    const echo = (i: number) => m.batches[i]?.resolve(m.batches[i].items.map((s) => s.toUpperCase()));
    const all = [batcher.enqueue('b0')];
    await flush();
    all.push(batcher.enqueue('low', { priority: 'low' }), batcher.enqueue('h1'), batcher.enqueue('h2'));
    await vi.advanceTimersByTimeAsync(50);
    echo(0);
    await flush();
    // Waited 50 ms: not aged yet, high items fill the batch.
    expect(m.batches[1]?.items).toEqual(['h1', 'h2']);
    all.push(batcher.enqueue('h3'), batcher.enqueue('h4'));
    await vi.advanceTimersByTimeAsync(50);
    echo(1);
    await flush();
    // Waited 100 ms: ranked by arrival, ahead of h3 and h4.
    expect(m.batches[2]?.items).toEqual(['low', 'h3']);
    echo(2);
    await flush();
    expect(m.batches[3]?.items).toEqual(['h4']);
    echo(3);
    expect((await Promise.all(all)).map((r) => r.output)).toEqual(['B0', 'LOW', 'H1', 'H2', 'H3', 'H4']);
  });

  it('drain dispatches queued work without waiting, finishes it, then rejects new items', async () => {
    const m = manualRun<number, number>();
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 8, maxQueueDelayMs: 1000 }), m.run);
    // Places being prepared that would fill the batch: without draining the free instance would wait.
    const slots = Array.from({ length: 5 }, () => batcher.reserve());
    const queued = [batcher.enqueue(1), batcher.enqueue(2), batcher.enqueue(3)];
    await vi.advanceTimersByTimeAsync(10);
    expect(m.batches).toHaveLength(0);
    let drained = false;
    const draining = batcher.drain().then(() => {
      drained = true;
    });
    await flush();
    expect(m.batches.map((b) => b.items)).toEqual([[1, 2, 3]]);
    const refused = await batcher.enqueue(4).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SightlineError);
    expect(refused).toMatchObject({ status: 503, code: 'unavailable' });
    await expect(slots[0].enqueue(4)).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    for (const slot of slots.slice(1)) slot.release();
    expect(drained).toBe(false);
    m.batches[0]?.resolve([10, 20, 30]);
    await draining;
    expect(drained).toBe(true);
    expect((await Promise.all(queued)).map((r) => r.output)).toEqual([10, 20, 30]);
    expect(batcher.stats()).toMatchObject({ enqueued: 3, succeeded: 3, rejectedUnavailable: 2, queueLength: 0, inFlight: 0 });
  });

  it('close rejects everything queued, lets running batches finish, and refuses new items', async () => {
    const m = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxQueueDelayMs: 0 }), m.run);
    const running = batcher.enqueue('a');
    await flush();
    const b = batcher.enqueue('b').catch((e: unknown) => e);
    const c = batcher.enqueue('c').catch((e: unknown) => e);
    const reason = new Error('shutting down');
    batcher.close(reason);
    expect(await b).toBe(reason);
    expect(await c).toBe(reason);
    expect(batcher.queueLength).toBe(0);
    const refused = await batcher.enqueue('d').catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 503, code: 'unavailable' });
    m.batches[0]?.resolve(['A']);
    expect(await running).toEqual({ output: 'A', queueMs: 0, batchSize: 1 });
    expect(m.batches).toHaveLength(1);
    expect(batcher.stats()).toMatchObject({ rejectedClosed: 2, rejectedUnavailable: 1, succeeded: 1 });

    const plain = new DynamicBatcher<string, string>(options(), m.run);
    const queuedPlain = plain.enqueue('e').catch((e: unknown) => e);
    plain.close();
    expect(await queuedPlain).toMatchObject({ status: 503, code: 'unavailable' });
  });

  it('setRun sends new batches to the new run while running ones finish on the old', async () => {
    const old = manualRun<string, string>();
    const batcher = new DynamicBatcher<string, string>(options({ maxQueueDelayMs: 0, maxInFlight: 2 }), old.run);
    const a = batcher.enqueue('a');
    await flush();
    const fresh = instantRun<string, string>((s) => `new:${s}`);
    batcher.setRun(fresh.run);
    const b = batcher.enqueue('b');
    await flush();
    expect(old.batches.map((x) => x.items)).toEqual([['a']]);
    expect(fresh.calls.map((x) => x.items)).toEqual([['b']]);
    expect((await b).output).toBe('new:b');
    old.batches[0]?.resolve(['old:a']);
    expect((await a).output).toBe('old:a');
  });

  it('reports a batch size histogram equal to the sizes actually run, and queue time', async () => {
    const { run, calls } = instantRun<number, number>((x) => x);
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 4, maxQueueDelayMs: 10, maxInFlight: 1 }), run);
    const all: Promise<unknown>[] = [];
    for (const wave of [9, 1, 4, 3]) {
      for (let i = 0; i < wave; i++) all.push(batcher.enqueue(i));
      await vi.advanceTimersByTimeAsync(10);
    }
    await Promise.all(all);
    const sizes = calls.map((c) => c.items.length);
    expect(sizes).toEqual([4, 4, 1, 1, 4, 3]);
    const histogram: Record<number, number> = {};
    for (const size of sizes) histogram[size] = (histogram[size] ?? 0) + 1;
    const stats = batcher.stats();
    expect(stats.batchSizeHistogram).toEqual(histogram);
    expect(stats.batchSizeHistogram).toEqual({ 1: 2, 3: 1, 4: 3 });
    // One instance, answering at once: each wave leaves in the same tick, full batches first.
    expect(stats).toMatchObject({
      enqueued: 17,
      succeeded: 17,
      dispatchedBatches: 6,
      dispatchedItems: 17,
      finishedBatches: 6,
      queueMs: 0,
      queueNs: 0,
      queueLength: 0,
      inFlight: 0,
      peakQueueLength: 9,
    });
  });
});
