import { expect, it } from 'vitest';
import type { Store } from '../dist/src/store/index.js';
import { describeEachDatabase } from './helpers/databases.js';
import { pairEvaluationInput } from './helpers/evaluations.js';
import { twoReplicaStores } from './helpers/replica-stores.js';

const LONG = 60_000;

async function leaseOf(store: Store, id: string) {
  return store.db.selectFrom('evaluations').select(['attempts', 'lease_owner', 'lease_expires_at']).where('id', '=', id).executeTakeFirstOrThrow();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDatabase('evaluation leases', (target) => {
  it('leases an evaluation to its creating replica: only that one claims it, once', async () => {
    const { a, b } = await twoReplicaStores(target);
    const before = Date.now();
    const created = await a.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'a', leaseMs: LONG } });
    const lease = await leaseOf(a, created.id);
    expect([Number(lease.attempts), lease.lease_owner]).toEqual([0, 'a']);
    expect(Number(lease.lease_expires_at)).toBeGreaterThanOrEqual(before + LONG);

    const [byA, byB] = await Promise.all([
      a.evaluations.claim(created.id, { owner: 'a', leaseMs: LONG }),
      b.evaluations.claim(created.id, { owner: 'b', leaseMs: LONG }),
    ]);
    expect(byB).toBeUndefined();
    expect(byA).toMatchObject({ id: created.id, status: 'running', startedAt: expect.any(Number) });
    expect(await a.evaluations.claim(created.id, { owner: 'a', leaseMs: LONG })).toBeUndefined();
    expect(Number((await leaseOf(a, created.id)).attempts)).toBe(1);
    // One made without a lease (as before leases) is anybody's to claim.
    const loose = await a.evaluations.create(pairEvaluationInput);
    expect(await b.evaluations.claim(loose.id, { owner: 'b', leaseMs: LONG })).toMatchObject({ status: 'running' });
  });

  it('fails at start only what the starting replica held and what nobody holds any more', async () => {
    const { a, b } = await twoReplicaStores(target);
    const live = await b.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'b', leaseMs: LONG } });
    await b.evaluations.claim(live.id, { owner: 'b', leaseMs: LONG });
    const liveQueued = await b.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'b', leaseMs: LONG } });
    const own = await a.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'a', leaseMs: LONG } });
    const expired = await b.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'gone', leaseMs: 10 } });
    const legacy = await a.evaluations.create(pairEvaluationInput);
    await a.evaluations.markRunning(legacy.id);
    await pause(30);
    expect(await a.evaluations.failUnfinished('restarted', { owner: 'a' })).toBe(3);
    for (const { id } of [own, expired, legacy]) expect(await a.evaluations.get(id)).toMatchObject({ status: 'failed', error: 'restarted' });
    expect((await a.evaluations.get(live.id))!.status).toBe('running');
    expect((await a.evaluations.get(liveQueued.id))!.status).toBe('queued');
    expect(await a.evaluations.failUnfinished('all')).toBe(2);
    expect((await a.evaluations.get(live.id))!).toMatchObject({ status: 'failed', error: 'all' });
  });

  it('fails the evaluations whose lease ran out, and refuses the late result of their replica', async () => {
    const { a, b } = await twoReplicaStores(target);
    const dying = await a.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'a', leaseMs: 40 } });
    await a.evaluations.claim(dying.id, { owner: 'a', leaseMs: 40 });
    const healthy = await b.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'b', leaseMs: LONG } });
    const unleased = await b.evaluations.create(pairEvaluationInput);
    await pause(70);
    expect(await b.evaluations.failExpired('replica gone')).toBe(1);
    expect(await a.evaluations.get(dying.id)).toMatchObject({ status: 'failed', error: 'replica gone' });
    expect((await a.evaluations.get(healthy.id))!.status).toBe('queued');
    expect((await a.evaluations.get(unleased.id))!.status).toBe('queued');

    const outcome = { report: { late: true }, summary: { accuracy: 1 }, done: 4, problems: 0 };
    expect(await a.evaluations.finishSucceeded(dying.id, 'a', outcome)).toBeUndefined();
    expect(await a.evaluations.finishFailed(dying.id, 'a', 'late')).toBeUndefined();
    expect(await a.evaluations.get(dying.id)).toMatchObject({ status: 'failed', error: 'replica gone', report: null });
  });

  it('renews only its own leases and finishes only what it holds, keeping who ran it', async () => {
    const { a, b } = await twoReplicaStores(target);
    const mine = await a.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'a', leaseMs: 1000 } });
    const theirs = await b.evaluations.create({ ...pairEvaluationInput, lease: { owner: 'b', leaseMs: 1000 } });
    const theirsLease = await leaseOf(a, theirs.id);
    const before = Date.now();
    expect([...(await a.evaluations.renew([mine.id, theirs.id, 'nope'], { owner: 'a', leaseMs: LONG }))]).toEqual([mine.id]);
    expect(Number((await leaseOf(a, mine.id)).lease_expires_at)).toBeGreaterThanOrEqual(before + LONG);
    expect(await leaseOf(a, theirs.id)).toEqual(theirsLease);

    await a.evaluations.claim(mine.id, { owner: 'a', leaseMs: LONG });
    const outcome = { report: { metrics: { accuracy: 0.75 } }, summary: { accuracy: 0.75 }, done: 4, problems: 1 };
    expect(await b.evaluations.finishSucceeded(mine.id, 'b', outcome)).toBeUndefined();
    const done = await a.evaluations.finishSucceeded(mine.id, 'a', outcome);
    expect(done).toMatchObject({ status: 'succeeded', done: 4, problems: 1, summary: { accuracy: 0.75 }, report: outcome.report });
    expect(await leaseOf(a, mine.id)).toEqual({ attempts: 1, lease_owner: 'a', lease_expires_at: null });
    // Failing one that never started, as a stopping replica does with its queue.
    expect(await b.evaluations.finishFailed(theirs.id, 'b', 'stopped before it started')).toMatchObject({ status: 'failed', startedAt: null });
  });
});
