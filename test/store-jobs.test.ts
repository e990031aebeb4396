import { expect, it, onTestFinished } from 'vitest';
import { openStore } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase, freshDatabase } from './helpers/databases.js';

async function open(target: DatabaseTarget, groupCommitMs?: number) {
  const db = await freshDatabase(target);
  const store = await openStore({ url: db.url, dataDir: db.dataDir, ...(groupCommitMs !== undefined ? { groupCommitMs } : {}) });
  onTestFinished(() => store.close());
  const image = (await store.blobs.put(Buffer.from('job image'), { mediaType: 'image/png' })).sha256;
  return { store, image };
}

describeEachDatabase('jobs', (target) => {
  it('moves a job from queued through running to succeeded with timestamps and result', async () => {
    const { store, image } = await open(target);
    const before = Date.now();
    const { job, created } = await store.jobs.create({ model: 'ppocr-det', imageSha256: image });
    expect(created).toBe(true);
    expect(job).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      model: 'ppocr-det',
      imageSha256: image,
      status: 'queued',
      idempotencyKey: null,
      createdAt: expect.any(Number),
      startedAt: null,
      finishedAt: null,
      result: null,
      error: null,
      attempts: 0,
      replica: null,
      leaseExpiresAt: null,
    });
    expect(job.createdAt).toBeGreaterThanOrEqual(before);
    expect(await store.jobs.get(job.id)).toEqual(job);

    const running = await store.jobs.markRunning(job.id);
    expect(running.status).toBe('running');
    expect(running.startedAt).toBeGreaterThanOrEqual(job.createdAt);

    const result = {
      polygons: [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      ],
      scores: [0.93],
    };
    const done = await store.jobs.markSucceeded(job.id, result);
    expect(done).toMatchObject({ status: 'succeeded', result, error: null, startedAt: running.startedAt });
    expect(done.finishedAt).toBeGreaterThanOrEqual(running.startedAt!);
    expect(await store.jobs.get(job.id)).toEqual(done);
  });

  it('records failure from running or queued, and refuses other transitions', async () => {
    const { store, image } = await open(target);
    const a = (await store.jobs.create({ model: 'm', imageSha256: image })).job;
    const b = (await store.jobs.create({ model: 'm', imageSha256: image })).job;
    await store.jobs.markRunning(a.id);
    expect(await store.jobs.markFailed(a.id, 'out of memory')).toMatchObject({ status: 'failed', error: 'out of memory', result: null });
    expect(await store.jobs.markFailed(b.id, 'model removed')).toMatchObject({ status: 'failed', startedAt: null, error: 'model removed' });

    await expect(store.jobs.markRunning(a.id)).rejects.toMatchObject({ status: 409, message: `job ${a.id} is failed; it cannot become running` });
    await expect(store.jobs.markSucceeded(a.id, {})).rejects.toMatchObject({ status: 409 });
    const c = (await store.jobs.create({ model: 'm', imageSha256: image })).job;
    await expect(store.jobs.markSucceeded(c.id, {})).rejects.toMatchObject({ status: 409 });
    await expect(store.jobs.markRunning('00000000-0000-7000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
    await expect(store.jobs.markRunning('not-an-id')).rejects.toMatchObject({ status: 404 });
    expect((await store.jobs.get(c.id))?.status).toBe('queued');
  });

  it('refuses a job for an unknown image', async () => {
    const { store } = await open(target);
    await expect(store.jobs.create({ model: 'm', imageSha256: 'f'.repeat(64) })).rejects.toMatchObject({ status: 404 });
    await expect(store.jobs.create({ model: 'm', imageSha256: 'nope' })).rejects.toMatchObject({ status: 400 });
    await expect(store.jobs.create({ model: '', imageSha256: 'f'.repeat(64) })).rejects.toMatchObject({ status: 400 });
    expect((await store.jobs.list()).items).toEqual([]);
  });

  it('returns the existing job for a repeated idempotency key', async () => {
    const { store, image } = await open(target);
    const first = await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'upload-42' });
    const again = await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'upload-42' });
    expect(first.created).toBe(true);
    expect(again).toEqual({ job: first.job, created: false });
    // Keys compare exactly on both databases.
    const other = await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'UPLOAD-42' });
    expect(other.created).toBe(true);
    const spaced = await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'upload-42 ' });
    expect(spaced.created).toBe(true);
    await expect(store.jobs.create({ model: 'other-model', imageSha256: image, idempotencyKey: 'upload-42' })).rejects.toMatchObject({ status: 409 });
    expect((await store.jobs.list()).items).toHaveLength(3);
  });

  it('makes one job from concurrent creates with the same key (same group)', async () => {
    const { store, image } = await open(target);
    const results = await Promise.all(Array.from({ length: 10 }, () => store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'k-1' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect((await store.jobs.list()).items.map((j) => j.id)).toEqual([results[0].job.id]);
  });

  it('makes one job from concurrent creates with the same key (separate transactions)', async () => {
    const { store, image } = await open(target, 0);
    // Warm the connection pool so the racing transactions really overlap on MySQL.
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: `warm-${i}` })));
    const results = await Promise.all(Array.from({ length: 10 }, () => store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'k-2' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect((await store.jobs.list({ limit: 100 })).items.filter((j) => j.idempotencyKey === 'k-2')).toHaveLength(1);
    expect((await store.jobs.list({ limit: 100 })).items).toHaveLength(11);
  });

  it('lists newest first with filters and cursor pagination', async () => {
    const { store, image } = await open(target);
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) {
      ids.push((await store.jobs.create({ model: i % 3 === 0 ? 'det' : 'cls', imageSha256: image })).job.id);
    }
    await store.jobs.markRunning(ids[4]);
    await store.jobs.markRunning(ids[7]);
    const newestFirst = [...ids].reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.jobs.list({ limit: 5, cursor });
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(newestFirst);

    expect((await store.jobs.list({ model: 'det' })).items.map((j) => j.id)).toEqual(newestFirst.filter((_, i) => (12 - i) % 3 === 0));
    expect((await store.jobs.list({ status: 'running' })).items.map((j) => j.id)).toEqual([ids[7], ids[4]]);
    const cls = await store.jobs.list({ model: 'cls', status: 'queued', limit: 100 });
    expect(cls.items.map((j) => j.id)).toEqual(
      newestFirst.filter((id) => {
        const i = ids.indexOf(id);
        return i % 3 !== 0 && i !== 4 && i !== 7;
      }),
    );
    expect(cls.nextCursor).toBeNull();

    await expect(store.jobs.list({ limit: 0 })).rejects.toMatchObject({ status: 400 });
    await expect(store.jobs.list({ cursor: 'garbage!' })).rejects.toMatchObject({ status: 400 });
    await expect(store.jobs.list({ status: 'done' as never })).rejects.toMatchObject({ status: 400 });
  });

  it('deletes jobs', async () => {
    const { store, image } = await open(target);
    const { job } = await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'del' });
    expect(await store.jobs.delete(job.id)).toBe(true);
    expect(await store.jobs.get(job.id)).toBeUndefined();
    expect(await store.jobs.delete(job.id)).toBe(false);
    expect(await store.jobs.delete('not-an-id')).toBe(false);
    // The key is free again.
    expect((await store.jobs.create({ model: 'm', imageSha256: image, idempotencyKey: 'del' })).created).toBe(true);
  });
});
