import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import { batcherOptions, manualRun, timedRun } from './helpers/batch-runs.js';
import { flush, useFakeClock } from './helpers/fake-clock.js';
import { DynamicBatcher, type RunBatch } from '../dist/src/engine/batcher.js';
import { loadManifest } from '../dist/src/engine/manifest.js';
import { predict } from '../dist/src/engine/predictor.js';
import type { ModelRepository } from '../dist/src/engine/repository.js';
import { SightlineError } from '../dist/src/errors.js';

const options = batcherOptions({ maxBatchSize: 4, maxQueueDelayMs: 0, maxQueueSize: 1000 });

/** One full batch of 4, run to the end (`ms`: 20 at 5 ms per item): the batcher has measured its throughput on it. */
async function runFullBatch(batcher: DynamicBatcher<number, number>, ms = 20): Promise<void> {
  const batch = Array.from({ length: 4 }, (_, i) => batcher.enqueue(i));
  await vi.advanceTimersByTimeAsync(ms);
  await Promise.all(batch);
}

/** Enqueues high-priority items one by one until one is refused; returns the accepted results and the refusal. */
function fillUntilRefused(batcher: DynamicBatcher<number, number>, limit = 1000) {
  const accepted: Promise<unknown>[] = [];
  const refusedBefore = batcher.stats().rejectedWaitBudget + batcher.stats().rejectedQueueFull;
  for (let i = 0; i < limit; i++) {
    const p = batcher.enqueue(i);
    // A refusal is counted before enqueue returns.
    const s = batcher.stats();
    if (s.rejectedWaitBudget + s.rejectedQueueFull > refusedBefore) return { accepted, refused: p.catch((e: unknown) => e) };
    accepted.push(p);
  }
  throw new Error('never refused');
}

useFakeClock();

describe('DynamicBatcher admission by expected wait', () => {
  it('uses only the count bound before any batch has been measured', async () => {
    const { run } = timedRun(5);
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 50, maxQueueSize: 30 }), run);
    const all = Array.from({ length: 30 }, (_, i) => batcher.enqueue(i));
    await expect(batcher.enqueue(99)).rejects.toMatchObject({ status: 503, code: 'overloaded' });
    expect(batcher.stats()).toMatchObject({ rejectedQueueFull: 1, rejectedWaitBudget: 0, throughputPerSec: null, expectedWaitMs: null });
    await vi.advanceTimersByTimeAsync(200);
    expect((await Promise.all(all)).map((r) => r.output)).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
  });

  it('refuses high-priority work once the expected wait exceeds the budget and admits it again as the queue drains', async () => {
    // 5 ms per item, batches of 4: 0.2 items/ms. A 100 ms budget holds 20 items (above the 16 always admitted).
    const { run } = timedRun(5);
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 100 }), run);
    await runFullBatch(batcher);
    expect(batcher.stats().throughputPerSec).toBeCloseTo(200, 6);

    const { accepted, refused } = fillUntilRefused(batcher);
    // Admitted while what is held ahead takes at most 100 ms (0 to 20 items), refused at 21 (105 ms).
    expect(accepted).toHaveLength(21);
    const error = (await refused) as SightlineError;
    expect(error).toBeInstanceOf(SightlineError);
    expect(error).toMatchObject({ status: 503, code: 'overloaded' });
    expect(error.message).toMatch(/expected queue wait 105 ms exceeds the model's 100 ms budget/);
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    const stats = batcher.stats();
    expect(stats).toMatchObject({ rejectedWaitBudget: 1, rejectedQueueFull: 0, expectedWaitMs: 105 });
    // A refused item was never accepted.
    expect(stats.enqueued).toBe(4 + 21);

    // Jobs are already accepted and stored: low-priority work is bounded by count only.
    const low = batcher.enqueue(500, { priority: 'low' });
    expect(batcher.stats().rejectedWaitBudget).toBe(1);

    // Two batches later 22 − 8 = 14 items are held (70 ms): high work is admitted again.
    await vi.advanceTimersByTimeAsync(40);
    expect(batcher.stats().expectedWaitMs).toBeCloseTo(70, 6);
    const again = batcher.enqueue(600);
    expect(batcher.stats().rejectedWaitBudget).toBe(1);
    await vi.advanceTimersByTimeAsync(400);
    expect((await again).output).toBe(6000);
    expect((await low).output).toBe(5000);
    await Promise.all(accepted);
  });

  it('follows a change of speed: a slower run lowers the measured throughput and the admitted backlog', async () => {
    let msPerItem = 5;
    const run: RunBatch<number, number> = (items) => new Promise((resolve) => setTimeout(() => resolve(items.map((x) => x)), msPerItem * items.length));
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 50 }), run);
    await runFullBatch(batcher);
    msPerItem = 20;
    // Enough batches at the slow speed for the moving average to settle near 0.05 items/ms
    // (a generous per-item budget lets each batch in whole).
    for (let round = 0; round < 30; round++) {
      const batch = Array.from({ length: 4 }, (_, i) => batcher.enqueue(i, { maxQueueWaitMs: 1000 }));
      await vi.advanceTimersByTimeAsync(80);
      await Promise.all(batch);
    }
    expect(batcher.stats().throughputPerSec).toBeCloseTo(50, 0);
    const { accepted, refused } = fillUntilRefused(batcher);
    // At 0.05 items/ms a 50 ms budget holds 2.5 items, but four full batches (16 items) are always
    // admitted so the model can keep running full batches: the seventeenth is refused.
    expect(accepted).toHaveLength(16);
    expect(((await refused) as Error).message).toMatch(/expected queue wait 320 ms/);
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(accepted);
  });

  it('measures throughput on full batches once there are any: small batches of light load do not understate it', async () => {
    // Each batch costs 10 ms plus 2.5 ms per item: 0.2 items/ms in full batches of 4, 0.08 alone.
    const run: RunBatch<number, number> = (items) => new Promise((resolve) => setTimeout(() => resolve(items.map((x) => x)), 10 + 2.5 * items.length));
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 1000 }), run);
    const single = batcher.enqueue(0);
    await vi.advanceTimersByTimeAsync(12.5);
    await single;
    expect(batcher.stats().throughputPerSec).toBeCloseTo(80, 6);
    await runFullBatch(batcher);
    expect(batcher.stats().throughputPerSec).toBeCloseTo(200, 6);
    for (let round = 0; round < 5; round++) {
      const one = batcher.enqueue(round);
      await vi.advanceTimersByTimeAsync(12.5);
      await one;
    }
    expect(batcher.stats().throughputPerSec).toBeCloseTo(200, 6);
  });

  it('admits four full batches per instance however slow the measured batches are', async () => {
    // 100 ms per item: a 50 ms budget is exceeded by a single held item.
    const { run } = timedRun(100);
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 50, maxInFlight: 2 }), run);
    const warm = batcher.enqueue(0);
    await vi.advanceTimersByTimeAsync(100);
    await warm;
    const { accepted } = fillUntilRefused(batcher);
    expect(accepted).toHaveLength(4 * 4 * 2);
    await vi.advanceTimersByTimeAsync(4000);
    await Promise.all(accepted);
  });

  it('defaults the budget to five recent batch times, at least 250 ms', async () => {
    // 25 ms per item, batches of 4 take 100 ms: budget 500 ms, 0.04 items/ms, so 20 items held.
    const slow = new DynamicBatcher<number, number>(options(), timedRun(25).run);
    await runFullBatch(slow, 100);
    const slowFill = fillUntilRefused(slow);
    expect(slowFill.accepted).toHaveLength(21);
    expect(((await slowFill.refused) as Error).message).toMatch(/525 ms exceeds the model's 500 ms budget/);

    // 1 ms per item: five batches are 20 ms, so the 250 ms floor applies (0.25 s × 1 item/ms = 250 items).
    const fast = new DynamicBatcher<number, number>(options(), timedRun(1).run);
    await runFullBatch(fast, 4);
    const fastFill = fillUntilRefused(fast);
    expect(fastFill.accepted).toHaveLength(251);
    await vi.advanceTimersByTimeAsync(5000);
    await Promise.all([...slowFill.accepted, ...fastFill.accepted]);
  });

  it('never refuses 64 closed-loop clients on a model too slow for its budget, and still sheds an open-loop overload', async () => {
    // 2 ms per item in batches of 16: 0.5 items/ms, so 64 held items expect 128 ms against a 100 ms budget.
    const { run, sizes } = timedRun(2);
    const batcher = new DynamicBatcher<number, number>(options({ maxBatchSize: 16, maxQueueWaitMs: 100 }), run);
    let refusedClosed = 0;
    const client = async (rounds: number) => {
      for (let i = 0; i < rounds; i++) await batcher.enqueue(i).catch(() => refusedClosed++);
    };
    const clients = Array.from({ length: 64 }, () => client(20));
    await vi.advanceTimersByTimeAsync(64 * 20 * 2 + 100);
    await Promise.all(clients);
    expect(refusedClosed).toBe(0);
    expect(batcher.stats()).toMatchObject({ succeeded: 64 * 20, rejectedWaitBudget: 0 });

    // Three times what the model serves, arriving regardless of answers, for one second.
    const before = batcher.stats().succeeded;
    sizes.length = 0;
    const admitted: Promise<{ queueMs: number }>[] = [];
    let refusedOpen = 0;
    for (let t = 0; t < 1000; t++) {
      for (let k = 0; k < 3; k++) {
        const p = batcher.enqueue(t);
        if (batcher.stats().rejectedWaitBudget > refusedOpen) {
          refusedOpen++;
          p.catch(() => undefined);
        } else admitted.push(p);
      }
      // One item per 2 ms: 1.5 offered per item served.
      await vi.advanceTimersByTimeAsync(1);
    }
    const served = batcher.stats().succeeded - before;
    await vi.advanceTimersByTimeAsync(1000);
    const waits = (await Promise.all(admitted)).map((r) => r.queueMs);
    expect(refusedOpen).toBeGreaterThan(1000);
    // The queue never ran dry (goodput at the model's speed) and what was admitted waited about
    // the four batches held ahead of it (128 ms), not the length of the overload.
    expect(served).toBeGreaterThanOrEqual(0.9 * 500);
    expect(sizes.slice(2, -1).every((size) => size === 16)).toBe(true);
    expect(Math.max(...waits)).toBeLessThanOrEqual(4 * 32 + 1);
  });

  it('a per-item budget overrides the batcher option', async () => {
    const { run } = timedRun(5);
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 1000 }), run);
    await runFullBatch(batcher);
    const held = Array.from({ length: 17 }, (_, i) => batcher.enqueue(i));
    // 17 held (more than the 16 always admitted) = 85 ms ahead.
    await expect(batcher.enqueue(17, { maxQueueWaitMs: 80 })).rejects.toMatchObject({ code: 'overloaded' });
    expect(() => batcher.reserve({ maxQueueWaitMs: 80 })).toThrow(/exceeds the model's 80 ms budget/);
    batcher.reserve({ maxQueueWaitMs: 90 }).release();
    await vi.advanceTimersByTimeAsync(200);
    await Promise.all(held);
  });
});

describe('DynamicBatcher reservations', () => {
  it('counts reserved places in the expected wait and gives them back on release', async () => {
    const { run } = timedRun(5);
    const batcher = new DynamicBatcher<number, number>(options({ maxQueueWaitMs: 100 }), run);
    await runFullBatch(batcher);

    // Nothing queued yet: 21 places reserved (0 → 100 ms held ahead of the last), the 22nd refused.
    const slots = Array.from({ length: 21 }, () => batcher.reserve());
    expect(batcher.reservedCount).toBe(21);
    expect(batcher.queueLength).toBe(0);
    expect(() => batcher.reserve()).toThrow(SightlineError);
    await expect(batcher.enqueue(1)).rejects.toMatchObject({ code: 'overloaded' });
    expect(batcher.stats()).toMatchObject({ reserved: 21, rejectedWaitBudget: 2, expectedWaitMs: 105 });

    // A failed preparation gives its place back.
    slots.pop()!.release();
    slots.pop()!.release();
    expect(batcher.reservedCount).toBe(19);
    const extra = batcher.reserve();
    // Reserved places are queued without a second check, even though the queue is at its budget now.
    const results = [...slots, extra].map((slot, i) => slot.enqueue(100 + i));
    expect(batcher.reservedCount).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect((await Promise.all(results)).map((r) => r.output)).toEqual(Array.from({ length: 20 }, (_, i) => (100 + i) * 10));
    expect(() => extra.release()).toThrow(/already used/);
  });

  it('counts reserved places against maxQueueSize', async () => {
    const { run, batches: open } = manualRun<number, unknown>();
    const batcher = new DynamicBatcher<number, unknown>(options({ maxQueueSize: 3 }), run);
    const a = batcher.reserve();
    const b = batcher.reserve({ priority: 'low' });
    const c = batcher.reserve();
    expect(() => batcher.reserve({ priority: 'low' })).toThrow(/queue is full \(3 items waiting\)/);
    await expect(batcher.enqueue(7)).rejects.toMatchObject({ code: 'overloaded' });
    expect(batcher.stats().rejectedQueueFull).toBe(2);
    c.release();
    const d = batcher.enqueue(4);
    const results = [a.enqueue(1), b.enqueue(2), d];
    await flush();
    expect(open).toHaveLength(1);
    // High first by arrival (4 was queued before 1), low fills the batch.
    expect(open[0].items).toEqual([4, 1, 2]);
    open[0].resolve(['x', 'y', 'z']);
    expect((await Promise.all(results)).map((r) => r.output)).toEqual(['y', 'z', 'x']);
  });

  it('refuses reservations while draining, and a held place whose batcher drained answers unavailable', async () => {
    const { run } = timedRun(1);
    const batcher = new DynamicBatcher<number, number>(options(), run);
    const slot = batcher.reserve();
    const drained = batcher.drain();
    expect(() => batcher.reserve()).toThrow(/batcher is draining/);
    await expect(slot.enqueue(1)).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    expect(batcher.reservedCount).toBe(0);
    await drained;
  });
});

describe('predict admission', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const spec = loadManifest(path.join(here, '..', 'models', 'text-direction'));
  const limits = { maxInputPixels: 10_000_000 };

  /** A repository of one version whose batcher runs through a manual run. */
  function repoWith(batcher: DynamicBatcher<unknown, unknown>, batching: Record<string, unknown> = {}) {
    const version = {
      spec: { ...spec, batching: { ...spec.batching, ...batching } },
      batcher,
      shapeKey: (image: { width: number; height: number }) => `${image.width}x${image.height}`,
    };
    // A model, not a pipeline: the repository serves its version and no pipeline by that name.
    return { serving: () => version, servingPipeline: () => undefined, observer: undefined } as unknown as ModelRepository;
  }

  const tick = () => new Promise((r) => setTimeout(r, 1));
  const png = () =>
    sharp({ create: { width: 192, height: 48, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();

  it('refuses an overloaded model before decoding: an undecodable image gets 503, not 422', async () => {
    vi.useRealTimers();
    const { run, batches: open } = manualRun<unknown, unknown>();
    const batcher = new DynamicBatcher<unknown, unknown>(options({ maxBatchSize: 1, maxQueueSize: 1 }), run);
    const repo = repoWith(batcher);
    const body = await png();
    const running = predict(repo, 'text-direction', body, { limits });
    while (open.length < 1) await tick();
    const queued = predict(repo, 'text-direction', body, { limits });
    while (batcher.queueLength < 1) await tick();
    await expect(predict(repo, 'text-direction', Buffer.from('not an image'), { limits })).rejects.toMatchObject({ status: 503, code: 'overloaded' });
    open[0].resolve([{ value: 'a', inferMs: 1 }]);
    while (open.length < 2) await tick();
    open[1].resolve([{ value: 'b', inferMs: 1 }]);
    expect((await running).value).toBe('a');
    expect((await queued).value).toBe('b');
    // With room again, the same bytes reach the decoder and get its answer; the place is given back.
    await expect(predict(repo, 'text-direction', Buffer.from('not an image'), { limits })).rejects.toMatchObject({ status: 415 });
    expect(batcher.reservedCount).toBe(0);
  });

  it('a burst cannot all pass the check while its images decode', async () => {
    vi.useRealTimers();
    const { run, batches: open } = manualRun<unknown, unknown>();
    const batcher = new DynamicBatcher<unknown, unknown>(options({ maxBatchSize: 3, maxQueueSize: 3, maxQueueDelayMs: 10_000 }), run);
    const repo = repoWith(batcher);
    const body = await png();
    const burst = Array.from({ length: 5 }, () =>
      predict(repo, 'text-direction', body, { limits }).then(
        (p) => p.value,
        (e: SightlineError) => e.code,
      ),
    );
    // All five were started in one tick; three hold places while decoding, two are refused at once.
    expect(batcher.reservedCount).toBe(3);
    while (open.length < 1) await tick();
    expect(open[0].items).toHaveLength(3);
    open[0].resolve(['a', 'b', 'c'].map((value) => ({ value, inferMs: 1 })));
    expect((await Promise.all(burst)).sort()).toEqual(['a', 'b', 'c', 'overloaded', 'overloaded']);
    expect(batcher.stats()).toMatchObject({ rejectedQueueFull: 2, reserved: 0, enqueued: 3 });
  });

  it('passes the manifest budget to the batcher', async () => {
    vi.useRealTimers();
    const { run, batches: open } = manualRun<unknown, unknown>();
    const batcher = new DynamicBatcher<unknown, unknown>(options({ maxBatchSize: 1 }), run);
    const repo = repoWith(batcher, { maxQueueWaitMs: 5 });
    const body = await png();
    const first = predict(repo, 'text-direction', body, { limits });
    while (open.length < 1) await tick();
    // One measured batch of one item taking at least 10 ms: each item held ahead is ≥ 10 ms, the budget 5 ms.
    await new Promise((r) => setTimeout(r, 10));
    open[0].resolve([{ value: 'a', inferMs: 1 }]);
    await first;
    // Four held (four full batches of one) are always admitted; the fifth would wait ≥ 40 ms.
    const held = Array.from({ length: 4 }, () => predict(repo, 'text-direction', body, { limits }));
    await expect(predict(repo, 'text-direction', body, { limits })).rejects.toMatchObject({ code: 'overloaded' });
    // Low priority (jobs) is not refused by the budget.
    const job = predict(repo, 'text-direction', body, { limits, priority: 'low' });
    for (let i = 1; i <= 5; i++) {
      while (open.length < i + 1) await tick();
      open[i].resolve([{ value: i, inferMs: 1 }]);
    }
    expect((await Promise.all([...held, job])).map((p) => p.value).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
