import { onTestFinished, expect, it } from 'vitest';
import { openStore } from '../dist/src/store/index.js';
import { describeEachDatabase, freshDatabase } from './helpers/databases.js';

describeEachDatabase('store: evaluations', (target) => {
  async function open() {
    const db = await freshDatabase(target);
    const store = await openStore({ url: db.url, dataDir: db.dataDir, groupCommitMs: 0 });
    onTestFinished(() => store.close());
    return store;
  }
  const input = { model: 'cls', modelVersion: 2, task: 'classify', dataset: 'flowers', layout: 'imagefolder', total: 3, problems: 1 };

  it('creates, runs, stores the report, lists newest first by model, deletes', async () => {
    const store = await open();
    const a = await store.evaluations.create(input);
    expect(a).toMatchObject({ ...input, status: 'queued', done: 0, startedAt: null, finishedAt: null, summary: null, report: null, error: null });
    const running = await store.evaluations.markRunning(a.id);
    expect(running.status).toBe('running');
    expect(running.startedAt).toBeGreaterThanOrEqual(a.createdAt);
    // A report with every kind of value, emoji and a matrix big enough to pass TEXT's 64 KiB.
    const matrix = Array.from({ length: 150 }, (_, r) => Array.from({ length: 150 }, (_, c) => r * 1000 + c));
    const report = { metrics: { accuracy: 2 / 3, labels: ['🌼', 'rose'], matrix }, problems: [{ file: 'x.png', message: 'unreadable' }] };
    const done = await store.evaluations.markSucceeded(a.id, { report, summary: { accuracy: 2 / 3 }, done: 3, problems: 2 });
    expect(done).toMatchObject({ status: 'succeeded', done: 3, problems: 2, summary: { accuracy: 2 / 3 } });
    expect((await store.evaluations.get(a.id))!.report).toEqual(report);
    expect((await store.evaluations.get(a.id.toUpperCase()))!.id).toBe(a.id);

    const b = await store.evaluations.create({ ...input, model: 'other' });
    const c = await store.evaluations.create(input);
    const all = await store.evaluations.list();
    expect(all.items.map((e) => e.id)).toEqual([c.id, b.id, a.id]);
    expect('report' in all.items[0]).toBe(false);
    const cls = await store.evaluations.list({ model: 'cls', limit: 1 });
    expect(cls.items.map((e) => e.id)).toEqual([c.id]);
    const next = await store.evaluations.list({ model: 'cls', limit: 1, cursor: cls.nextCursor });
    expect([next.items.map((e) => e.id), next.nextCursor]).toEqual([[a.id], null]);
    await expect(store.evaluations.list({ cursor: 'bad!' })).rejects.toMatchObject({ status: 400 });

    expect(await store.evaluations.delete(b.id)).toBe(true);
    expect(await store.evaluations.delete(b.id)).toBe(false);
    expect(await store.evaluations.delete('not-an-id')).toBe(false);
    expect(await store.evaluations.get(b.id)).toBeUndefined();
  });

  it('refuses transitions out of order; unfinished ones fail after a restart', async () => {
    const store = await open();
    const a = await store.evaluations.create(input);
    await expect(store.evaluations.markSucceeded(a.id, { report: {}, summary: {}, done: 0, problems: 0 })).rejects.toMatchObject({ status: 409 });
    await expect(store.evaluations.markRunning('0190b6c2-0000-7000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    const b = await store.evaluations.create(input);
    await store.evaluations.markRunning(b.id);
    const c = await store.evaluations.create(input);
    await store.evaluations.markRunning(c.id);
    await store.evaluations.markFailed(c.id, 'model unloaded', 1);
    expect(await store.evaluations.failUnfinished('the server stopped before it finished')).toBe(2);
    expect(await store.evaluations.get(a.id)).toMatchObject({ status: 'failed', error: 'the server stopped before it finished' });
    expect(await store.evaluations.get(b.id)).toMatchObject({ status: 'failed' });
    expect(await store.evaluations.get(c.id)).toMatchObject({ status: 'failed', error: 'model unloaded', done: 1 });
  });
});
