import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { openStore } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase, freshDatabase } from './helpers/databases.js';

async function open(target: DatabaseTarget) {
  const db = await freshDatabase(target);
  const store = await openStore({ url: db.url, dataDir: db.dataDir });
  onTestFinished(() => store.close());
  return { store, dataDir: db.dataDir };
}

/** Every file under dir, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describeEachDatabase('blob store', (target) => {
  it('stores bytes once under their SHA-256 in a sharded, synced file', async () => {
    const { store, dataDir } = await open(target);
    const bytes = Buffer.from('\x89PNG fake image body');
    const hash = sha(bytes);

    const first = await store.blobs.put(bytes, { mediaType: 'image/png', width: 640, height: 480 });
    expect(first).toEqual({ sha256: hash, created: true });
    const second = await store.blobs.put(Buffer.from(bytes), { mediaType: 'image/jpeg' });
    expect(second).toEqual({ sha256: hash, created: false });

    const blobsDir = join(dataDir, 'blobs');
    expect(await filesUnder(blobsDir)).toEqual([join(hash.slice(0, 2), hash.slice(2, 4), hash)]);
    expect(await readdir(join(blobsDir, 'tmp'))).toEqual([]);

    const found = await store.blobs.get(hash);
    expect(found?.path).toBe(join(blobsDir, hash.slice(0, 2), hash.slice(2, 4), hash));
    expect(await readFile(found!.path)).toEqual(bytes);
    // The first put's metadata stays.
    expect(found?.meta).toEqual({
      sha256: hash,
      bytes: bytes.byteLength,
      mediaType: 'image/png',
      width: 640,
      height: 480,
      createdAt: expect.any(Number),
    });
    expect(Math.abs(found!.meta.createdAt - Date.now())).toBeLessThan(60_000);
    expect(await store.blobs.has(hash)).toBe(true);
    expect(await store.blobs.has(hash.toUpperCase())).toBe(true);
  });

  it('creates the blob once when the same bytes arrive concurrently', async () => {
    const { store, dataDir } = await open(target);
    const bytes = Buffer.alloc(64 * 1024, 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.blobs.put(bytes, { mediaType: 'image/webp' })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha(bytes)]));
    expect(await filesUnder(join(dataDir, 'blobs'))).toHaveLength(1);
    const count = await store.db
      .selectFrom('blobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it('keeps different bytes apart and leaves no temp files', async () => {
    const { store, dataDir } = await open(target);
    const puts = await Promise.all(Array.from({ length: 20 }, (_, i) => store.blobs.put(Buffer.from(`frame ${i}`), { mediaType: 'image/jpeg' })));
    expect(puts.every((p) => p.created)).toBe(true);
    expect(new Set(puts.map((p) => p.sha256)).size).toBe(20);
    for (let i = 0; i < 20; i++) {
      const found = await store.blobs.get(puts[i].sha256);
      expect((await readFile(found!.path)).toString()).toBe(`frame ${i}`);
    }
    expect(await readdir(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
    expect(await filesUnder(join(dataDir, 'blobs'))).toHaveLength(20);
  });

  it('rejects malformed hashes with 400 and reports unknown ones as absent', async () => {
    const { store } = await open(target);
    for (const bad of ['../../etc/passwd', 'abc', 'g'.repeat(64), `${'a'.repeat(63)}/`, '']) {
      await expect(store.blobs.get(bad)).rejects.toMatchObject({ status: 400, code: 'bad_request' });
      await expect(store.blobs.has(bad)).rejects.toMatchObject({ status: 400 });
      await expect(store.blobs.delete(bad)).rejects.toMatchObject({ status: 400 });
    }
    expect(await store.blobs.get('0'.repeat(64))).toBeUndefined();
    expect(await store.blobs.has('0'.repeat(64))).toBe(false);
  });

  it('validates put options', async () => {
    const { store } = await open(target);
    await expect(store.blobs.put(Buffer.from('x'), { mediaType: '' })).rejects.toMatchObject({ status: 400 });
    await expect(store.blobs.put(Buffer.from('x'), { mediaType: 'image/png', width: -1 })).rejects.toMatchObject({
      status: 400,
      details: { field: 'width' },
    });
    await expect(store.blobs.put(Buffer.from('x'), { mediaType: 'image/png', height: 1.5 })).rejects.toMatchObject({
      status: 400,
      details: { field: 'height' },
    });
  });

  it('deletes a blob and its file unless something refers to it', async () => {
    const { store, dataDir } = await open(target);
    const loose = await store.blobs.put(Buffer.from('loose'), { mediaType: 'image/png' });
    const used = await store.blobs.put(Buffer.from('used'), { mediaType: 'image/png' });
    await store.jobs.create({ model: 'm', imageSha256: used.sha256 });

    expect(await store.blobs.delete(loose.sha256)).toBe(true);
    expect(await store.blobs.get(loose.sha256)).toBeUndefined();
    expect(await store.blobs.delete(loose.sha256)).toBe(false);
    await expect(store.blobs.delete(used.sha256)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    expect(await filesUnder(join(dataDir, 'blobs'))).toEqual([join(used.sha256.slice(0, 2), used.sha256.slice(2, 4), used.sha256)]);

    // Stored again after deletion: a new row and a new file.
    expect(await store.blobs.put(Buffer.from('loose'), { mediaType: 'image/png' })).toEqual({
      sha256: loose.sha256,
      created: true,
    });
  });
});
