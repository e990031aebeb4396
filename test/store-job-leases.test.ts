import { expect, it } from 'vitest';
import type { Store } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase } from './helpers/databases.js';
import { twoReplicaStores } from './helpers/replica-stores.js';

const LONG = 60_000;

/** Two replicas' stores on one database (see twoReplicaStores), and an image stored for their jobs. */
async function twoReplicas(target: DatabaseTarget): Promise<{ a: Store; b: Store; image: string }> {
  const { a, b } = await twoReplicaStores(target);
  const image = (await a.blobs.put(Buffer.from('job image'), { mediaType: 'image/png' })).sha256;
  return { a, b, image };
}

async function queue(store: Store, image: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await store.jobs.create({ model: 'm', imageSha256: image })).job.id);
  return ids;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDatabase('job leases', (target) => {
  it('gives each job to exactly one of two replicas claiming it at once', async () => {
    const { a, b, image } = await twoReplicas(target);
    const ids = await queue(a, image, 20);
    const outcomes = await Promise.all(
      ids.map((id) => Promise.all([a.jobs.claim(id, { owner: 'a', leaseMs: LONG }), b.jobs.claim(id, { owner: 'b', leaseMs: LONG })])),
    );
    for (const [i, [byA, byB]] of outcomes.entries()) {
      expect([byA, byB].filter((job) => job !== undefined)).toHaveLength(1);
      const winner = (byA ?? byB)!;
      expect(winner).toMatchObject({ id: ids[i], status: 'running', attempts: 1, replica: byA !== undefined ? 'a' : 'b' });
      expect(await a.jobs.get(ids[i])).toEqual(winner);
    }
  });

  it('splits a backlog between two replicas scanning at once, each job claimed once, oldest first', async () => {
    const { a, b, image } = await twoReplicas(target);
    const ids = await queue(a, image, 30);
    const claimed: string[][] = [[], []];
    for (let round = 0; round < 4; round++) {
      const [byA, byB] = await Promise.all([a.jobs.claimNext({ owner: 'a', leaseMs: LONG }, 5), b.jobs.claimNext({ owner: 'b', leaseMs: LONG }, 5)]);
      claimed[0].push(...byA.map((job) => job.id));
      claimed[1].push(...byB.map((job) => job.id));
      for (const job of [...byA, ...byB]) expect(job).toMatchObject({ status: 'running', attempts: 1 });
    }
    const all = [...claimed[0], ...claimed[1]];
    expect(new Set(all).size).toBe(all.length);
    // The oldest jobs went first: the claimed ones are a prefix of the queue.
    expect([...all].sort()).toEqual(ids.slice(0, all.length).sort());
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(all.length).toBeLessThanOrEqual(30);
    const running = await a.jobs.list({ status: 'running', limit: 100 });
    expect(running.items.map((job) => job.id).sort()).toEqual([...all].sort());
    for (const job of running.items) expect(job.replica).toBe(claimed[0].includes(job.id) ? 'a' : 'b');
  });

  it('lets another replica take over a job whose lease ran out, counting the attempt', async () => {
    const { a, b, image } = await twoReplicas(target);
    const [id, other] = await queue(a, image, 2);
    const first = (await a.jobs.claim(id, { owner: 'dead-replica', leaseMs: 50 }))!;
    expect(first).toMatchObject({ status: 'running', attempts: 1, replica: 'dead-replica', startedAt: expect.any(Number) });
    expect(first.leaseExpiresAt).toBe(first.startedAt! + 50);
    // Still held: neither a claim nor a scan gets it.
    expect(await b.jobs.claim(id, { owner: 'b', leaseMs: LONG })).toBeUndefined();
    expect((await b.jobs.claimNext({ owner: 'b', leaseMs: LONG }, 5)).map((job) => job.id)).toEqual([other]);
    await pause(80);
    const scanned = await b.jobs.claimNext({ owner: 'b', leaseMs: LONG }, 5);
    expect(scanned).toEqual([{ ...first, attempts: 2, replica: 'b', leaseExpiresAt: expect.any(Number) }]);
    expect(scanned[0].leaseExpiresAt).toBeGreaterThan(Date.now() + LONG - 5000);
    // The first start is kept.
    expect(scanned[0].startedAt).toBe(first.startedAt);
    expect(await a.jobs.claim(id, { owner: 'dead-replica', leaseMs: 50 })).toBeUndefined();
  });

  it('refuses the result of a replica that lost its lease, and records the new owner’s', async () => {
    const { a, b, image } = await twoReplicas(target);
    const [id] = await queue(a, image, 1);
    await a.jobs.claim(id, { owner: 'a', leaseMs: 20 });
    await pause(40);
    const taken = (await b.jobs.claim(id, { owner: 'b', leaseMs: LONG }))!;
    expect(taken).toMatchObject({ status: 'running', attempts: 2, replica: 'b' });
    expect(await a.jobs.finishSucceeded(id, 'a', { label: 'from a' })).toBeUndefined();
    expect(await a.jobs.finishFailed(id, 'a', 'a gave up')).toBeUndefined();
    expect(await a.jobs.get(id)).toEqual(taken);

    const done = (await b.jobs.finishSucceeded(id, 'b', { label: 'from b' }))!;
    expect(done).toEqual({ ...taken, status: 'succeeded', result: { label: 'from b' }, finishedAt: expect.any(Number), leaseExpiresAt: null });
    expect(await a.jobs.get(id)).toEqual(done);
    // Finished: no replica can claim, finish or fail it again.
    expect(await b.jobs.finishFailed(id, 'b', 'late')).toBeUndefined();
    expect(await a.jobs.claim(id, { owner: 'a', leaseMs: LONG })).toBeUndefined();

    const [failing] = await queue(a, image, 1);
    await a.jobs.claim(failing, { owner: 'a', leaseMs: LONG });
    expect(await b.jobs.finishFailed(failing, 'b', 'not mine')).toBeUndefined();
    expect(await a.jobs.finishFailed(failing, 'a', 'model broke')).toMatchObject({
      status: 'failed',
      error: 'model broke',
      replica: 'a',
      attempts: 1,
      leaseExpiresAt: null,
    });
  });

  it('renews only the leases the renewing replica holds, in one call', async () => {
    const { a, b, image } = await twoReplicas(target);
    const [mine, theirs, queuedOne] = await queue(a, image, 3);
    const claimedMine = (await a.jobs.claim(mine, { owner: 'a', leaseMs: 1000 }))!;
    const claimedTheirs = (await b.jobs.claim(theirs, { owner: 'b', leaseMs: 1000 }))!;
    await pause(5);
    const held = await a.jobs.renew([mine, theirs, queuedOne, 'not-an-id'], { owner: 'a', leaseMs: LONG });
    expect([...held]).toEqual([mine]);
    expect((await a.jobs.get(mine))!.leaseExpiresAt).toBeGreaterThan(claimedMine.leaseExpiresAt! + LONG - 5000);
    expect(await a.jobs.get(theirs)).toEqual(claimedTheirs);
    expect((await a.jobs.get(queuedOne))!).toMatchObject({ status: 'queued', replica: null, leaseExpiresAt: null, attempts: 0 });
    expect(await a.jobs.renew([], { owner: 'a', leaseMs: LONG })).toEqual(new Set());
  });

  it('releases held jobs back to the queue for anyone, leaving other replicas’ alone', async () => {
    const { a, b, image } = await twoReplicas(target);
    const [mine, theirs] = await queue(a, image, 2);
    await a.jobs.claim(mine, { owner: 'a', leaseMs: LONG });
    const claimedTheirs = (await b.jobs.claim(theirs, { owner: 'b', leaseMs: LONG }))!;
    expect(await a.jobs.release([mine, theirs], 'a')).toBe(1);
    expect(await a.jobs.get(mine)).toMatchObject({ status: 'queued', replica: null, leaseExpiresAt: null, startedAt: null, attempts: 1 });
    expect(await a.jobs.get(theirs)).toEqual(claimedTheirs);
    // At once claimable again, by another replica.
    expect((await b.jobs.claimNext({ owner: 'b', leaseMs: LONG }, 5)).map((job) => [job.id, job.attempts, job.replica])).toEqual([[mine, 2, 'b']]);
  });

  it('resets at start only what the starting replica held and what nobody holds any more, or everything without a scope', async () => {
    const { a, b, image } = await twoReplicas(target);
    const [live, own, expired, legacy, waiting] = await queue(a, image, 5);
    const liveJob = (await b.jobs.claim(live, { owner: 'b', leaseMs: LONG }))!;
    await a.jobs.claim(own, { owner: 'a', leaseMs: LONG });
    await b.jobs.claim(expired, { owner: 'gone', leaseMs: 10 });
    // Marked running without a lease, as a row from before leases is.
    await a.jobs.markRunning(legacy);
    await pause(30);
    expect(await a.jobs.resetRunning({ owner: 'a' })).toBe(3);
    for (const id of [own, expired, legacy, waiting]) expect(await a.jobs.get(id)).toMatchObject({ status: 'queued', replica: null, leaseExpiresAt: null });
    expect(await a.jobs.get(live)).toEqual(liveJob);
    expect(await a.jobs.resetRunning()).toBe(1);
    expect((await a.jobs.get(live))!).toMatchObject({ status: 'queued', replica: null, attempts: 1 });
  });

  it('gives two replicas submitting one idempotency key at once the same job', async () => {
    const { a, b, image } = await twoReplicas(target);
    // Warm both connection pools so the racing transactions really overlap on MySQL.
    await Promise.all(
      [a, b].flatMap((store, s) =>
        Array.from({ length: 5 }, (_, i) => store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: `warm-${s}-${i}` })),
      ),
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'shared-key' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    const listed = await b.jobs.list({ limit: 100 });
    expect(listed.items.filter((job) => job.idempotencyKey === 'shared-key').map((job) => job.id)).toEqual([results[0].job.id]);
    expect(listed.items).toHaveLength(11);
  });
});
