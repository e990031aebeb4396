import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CHUNK_BYTES } from '../dist/src/store/blob-chunks.js';
import { type BlobKind, type Store, type StoreLogger, openStore } from '../dist/src/store/index.js';
import { type DatabaseTarget, describeEachDatabase, freshDatabase } from './helpers/databases.js';

const KINDS: readonly BlobKind[] = ['local', 'database'];

/** A logger that keeps what it is told. */
function recordingLogger() {
  const lines: Array<{ level: string; obj: object; msg: string }> = [];
  const logger: StoreLogger = {
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
  return { logger, lines };
}

async function open(target: DatabaseTarget, blobs: BlobKind, extra: { logger?: StoreLogger } = {}) {
  const db = await freshDatabase(target);
  const store = await openStore({ url: db.url, dataDir: db.dataDir, blobs, ...extra });
  onTestFinished(() => store.close());
  return { store, dataDir: db.dataDir, url: db.url };
}

/** Two stores with database bytes on one database, each with a data directory of its own, as two replicas have. */
async function twoStores(target: DatabaseTarget) {
  const { store: a, url } = await open(target, 'database');
  const otherDir = await mkdtemp(join(tmpdir(), 'sightline-store-'));
  onTestFinished(() => rm(otherDir, { recursive: true, force: true }));
  const b = await openStore({ url, dataDir: otherDir, blobs: 'database' });
  onTestFinished(() => b.close());
  return { a, b, otherDir };
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
const filePath = (dataDir: string, hash: string) => join(dataDir, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash);

async function countRows(store: Store, table: 'blobs' | 'blob_chunks', hash?: string): Promise<number> {
  let query = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
  if (hash !== undefined) query = query.where('sha256', '=', hash);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** The seq numbers and sizes of a blob's chunks, in order. */
async function chunksOf(store: Store, hash: string): Promise<Array<{ seq: number; bytes: number }>> {
  const rows = await store.db.selectFrom('blob_chunks').select(['seq', 'data']).where('sha256', '=', hash).orderBy('seq').execute();
  return rows.map((r) => ({ seq: Number(r.seq), bytes: r.data.byteLength }));
}

async function readBack(store: Store, hash: string): Promise<Buffer> {
  const found = await store.blobs.get(hash);
  if (found === undefined) throw new Error(`blob ${hash} not found`);
  return found.read();
}

describeEachDatabase('blob store', (target) => {
  for (const kind of KINDS) {
    describe(`bytes: ${kind}`, () => {
      it('stores bytes once under their SHA-256 and reads them back with the first metadata', async () => {
        const { store, dataDir } = await open(target, kind);
        expect(store.blobKind).toBe(kind);
        expect(store.blobs.kind).toBe(kind);
        const bytes = Buffer.from('\x89PNG fake image body');
        const hash = sha(bytes);

        const first = await store.blobs.put(bytes, { mediaType: 'image/png', width: 640, height: 480 });
        expect(first).toEqual({ sha256: hash, created: true });
        const second = await store.blobs.put(Buffer.from(bytes), { mediaType: 'image/jpeg' });
        expect(second).toEqual({ sha256: hash, created: false });

        if (kind === 'local') {
          const blobsDir = join(dataDir, 'blobs');
          expect(await filesUnder(blobsDir)).toEqual([join(hash.slice(0, 2), hash.slice(2, 4), hash)]);
          expect(await readdir(join(blobsDir, 'tmp'))).toEqual([]);
          expect(await readFile(filePath(dataDir, hash))).toEqual(bytes);
          expect(await countRows(store, 'blob_chunks')).toBe(0);
        } else {
          // No directory for bytes at all.
          expect(existsSync(join(dataDir, 'blobs'))).toBe(false);
          expect(await chunksOf(store, hash)).toEqual([{ seq: 0, bytes: bytes.byteLength }]);
        }

        const found = await store.blobs.get(hash);
        expect(Object.keys(found!).sort()).toEqual(['meta', 'read']);
        expect(await found!.read()).toEqual(bytes);
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

      it('round-trips exact bytes at the chunk boundaries and past them', async () => {
        const { store } = await open(target, kind);
        const cases = [
          { name: 'empty', bytes: Buffer.alloc(0), chunks: 0 },
          { name: 'one byte', bytes: Buffer.from([0xff]), chunks: 1 },
          { name: 'one chunk', bytes: randomBytes(CHUNK_BYTES), chunks: 1 },
          { name: 'one chunk and a byte', bytes: randomBytes(CHUNK_BYTES + 1), chunks: 2 },
          { name: 'about 3 MiB', bytes: randomBytes(3 * 1024 * 1024 + 12345), chunks: 7 },
        ];
        expect(CHUNK_BYTES).toBe(512 * 1024);
        for (const c of cases) {
          const hash = sha(c.bytes);
          expect(await store.blobs.put(c.bytes, { mediaType: 'image/png' }), c.name).toEqual({ sha256: hash, created: true });
          const found = await store.blobs.get(hash);
          expect(found?.meta.bytes, c.name).toBe(c.bytes.byteLength);
          const back = await found!.read();
          expect(back.byteLength, c.name).toBe(c.bytes.byteLength);
          expect(back.equals(c.bytes), c.name).toBe(true);
          if (kind === 'database') {
            const chunks = await chunksOf(store, hash);
            expect(
              chunks.map((ch) => ch.seq),
              c.name,
            ).toEqual(Array.from({ length: c.chunks }, (_, i) => i));
            expect(
              chunks.map((ch) => ch.bytes),
              c.name,
            ).toEqual(Array.from({ length: c.chunks }, (_, i) => Math.min(CHUNK_BYTES, c.bytes.byteLength - i * CHUNK_BYTES)));
          }
        }
        expect(await countRows(store, 'blob_chunks')).toBe(kind === 'database' ? 11 : 0);
      });

      it('creates the blob once when the same bytes arrive concurrently', async () => {
        const { store, dataDir } = await open(target, kind);
        const bytes = randomBytes(CHUNK_BYTES * 2 + 100);
        const results = await Promise.all(Array.from({ length: 8 }, () => store.blobs.put(bytes, { mediaType: 'image/webp' })));
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha(bytes)]));
        expect(await countRows(store, 'blobs')).toBe(1);
        if (kind === 'local') expect(await filesUnder(join(dataDir, 'blobs'))).toHaveLength(1);
        else expect(await countRows(store, 'blob_chunks')).toBe(3);
        expect((await readBack(store, sha(bytes))).equals(bytes)).toBe(true);
      });

      it('keeps different bytes apart', async () => {
        const { store, dataDir } = await open(target, kind);
        const puts = await Promise.all(Array.from({ length: 20 }, (_, i) => store.blobs.put(Buffer.from(`frame ${i}`), { mediaType: 'image/jpeg' })));
        expect(puts.every((p) => p.created)).toBe(true);
        expect(new Set(puts.map((p) => p.sha256)).size).toBe(20);
        for (let i = 0; i < 20; i++) expect((await readBack(store, puts[i].sha256)).toString()).toBe(`frame ${i}`);
        if (kind === 'local') {
          expect(await readdir(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
          expect(await filesUnder(join(dataDir, 'blobs'))).toHaveLength(20);
        } else {
          expect(await countRows(store, 'blob_chunks')).toBe(20);
        }
      });

      it('rejects malformed hashes with 400 and reports unknown ones as absent', async () => {
        const { store } = await open(target, kind);
        for (const bad of ['../../etc/passwd', 'abc', 'g'.repeat(64), `${'a'.repeat(63)}/`, '']) {
          await expect(store.blobs.get(bad)).rejects.toMatchObject({ status: 400, code: 'bad_request' });
          await expect(store.blobs.has(bad)).rejects.toMatchObject({ status: 400 });
          await expect(store.blobs.delete(bad)).rejects.toMatchObject({ status: 400 });
        }
        expect(await store.blobs.get('0'.repeat(64))).toBeUndefined();
        expect(await store.blobs.has('0'.repeat(64))).toBe(false);
      });

      it('validates put options', async () => {
        const { store } = await open(target, kind);
        await expect(store.blobs.put(Buffer.from('x'), { mediaType: '' })).rejects.toMatchObject({ status: 400 });
        await expect(store.blobs.put(Buffer.from('x'), { mediaType: 'image/png', width: -1 })).rejects.toMatchObject({
          status: 400,
          details: { field: 'width' },
        });
        await expect(store.blobs.put(Buffer.from('x'), { mediaType: 'image/png', height: 1.5 })).rejects.toMatchObject({
          status: 400,
          details: { field: 'height' },
        });
        expect(await countRows(store, 'blobs')).toBe(0);
      });

      it('deletes a blob and its bytes unless something refers to it', async () => {
        const { store, dataDir } = await open(target, kind);
        const looseBytes = randomBytes(CHUNK_BYTES + 7);
        const loose = await store.blobs.put(looseBytes, { mediaType: 'image/png' });
        const used = await store.blobs.put(Buffer.from('used'), { mediaType: 'image/png' });
        await store.jobs.create({ model: 'm', imageSha256: used.sha256 });
        if (kind === 'database') expect(await countRows(store, 'blob_chunks', loose.sha256)).toBe(2);

        expect(await store.blobs.delete(loose.sha256)).toBe(true);
        expect(await store.blobs.get(loose.sha256)).toBeUndefined();
        expect(await store.blobs.delete(loose.sha256)).toBe(false);
        await expect(store.blobs.delete(used.sha256)).rejects.toMatchObject({ status: 409, code: 'conflict' });
        expect((await readBack(store, used.sha256)).toString()).toBe('used');
        if (kind === 'local') {
          expect(await filesUnder(join(dataDir, 'blobs'))).toEqual([join(used.sha256.slice(0, 2), used.sha256.slice(2, 4), used.sha256)]);
        } else {
          expect(await countRows(store, 'blob_chunks', loose.sha256)).toBe(0);
          expect(await chunksOf(store, used.sha256)).toEqual([{ seq: 0, bytes: 4 }]);
        }

        // Stored again after deletion: a new row and new bytes.
        expect(await store.blobs.put(looseBytes, { mediaType: 'image/png' })).toEqual({ sha256: loose.sha256, created: true });
        expect((await readBack(store, loose.sha256)).equals(looseBytes)).toBe(true);
      });

      it('treats a row whose bytes are incomplete as missing, and a put of the same bytes writes them back', async () => {
        const { logger, lines } = recordingLogger();
        const { store, dataDir } = await open(target, kind, { logger });
        const bytes = randomBytes(CHUNK_BYTES * 2 + 1);
        const hash = sha(bytes);
        await store.blobs.put(bytes, { mediaType: 'image/png' });
        const loseBytes = async () => {
          if (kind === 'local') await unlink(filePath(dataDir, hash));
          // The last chunk: what is left reads back contiguous but short.
          else await store.writer.write((trx) => trx.deleteFrom('blob_chunks').where('sha256', '=', hash).where('seq', '=', 2).execute());
        };

        // Lost between get and read: the read rejects as missing.
        const found = await store.blobs.get(hash);
        await loseBytes();
        await expect(found!.read()).rejects.toMatchObject({ status: 404, code: 'not_found', message: `blob ${hash} not found: its bytes are missing` });
        // Lost before get: get answers nothing.
        expect(await store.blobs.get(hash)).toBeUndefined();
        expect(await store.blobs.has(hash)).toBe(true);
        const errors = lines.filter((l) => l.level === 'error');
        expect(errors.map((l) => l.msg)).toEqual(['blob row has incomplete bytes', 'blob row has incomplete bytes']);
        expect(errors[0].obj).toEqual({ sha256: hash, blobs: kind, expectedBytes: bytes.byteLength, foundBytes: kind === 'local' ? null : 2 * CHUNK_BYTES });

        expect(await store.blobs.put(bytes, { mediaType: 'image/png' })).toEqual({ sha256: hash, created: false });
        expect(lines.filter((l) => l.level === 'warn')).toEqual([
          { level: 'warn', obj: { sha256: hash, blobs: kind }, msg: 'blob bytes were missing; rewriting them' },
        ]);
        expect((await readBack(store, hash)).equals(bytes)).toBe(true);
        if (kind !== 'database') return;
        expect(await countRows(store, 'blob_chunks', hash)).toBe(3);
        // A chunk lost from the middle is a gap in the numbering.
        const again = await store.blobs.get(hash);
        await store.writer.write((trx) => trx.deleteFrom('blob_chunks').where('sha256', '=', hash).where('seq', '=', 1).execute());
        await expect(again!.read()).rejects.toMatchObject({ status: 404, code: 'not_found' });
        expect(lines.at(-1)).toEqual({
          level: 'error',
          obj: { sha256: hash, blobs: 'database', expectedBytes: bytes.byteLength, foundBytes: null },
          msg: 'blob row has incomplete bytes',
        });
      });

      it('commits a group of many multi-chunk puts in one transaction, larger than max_allowed_packet', async () => {
        const db = await freshDatabase(target);
        const commits: number[] = [];
        const store = await openStore({ url: db.url, dataDir: db.dataDir, blobs: kind, groupCommitMs: 1000, onCommit: ({ writes }) => commits.push(writes) });
        onTestFinished(() => store.close());
        // 12 × 1.5 MiB = 18 MiB, past MariaDB's default 16 MiB max_allowed_packet, with 36 chunk inserts.
        const images = Array.from({ length: 12 }, () => randomBytes(3 * CHUNK_BYTES - 1000));
        const puts = await Promise.all(images.map((bytes) => store.blobs.put(bytes, { mediaType: 'image/png' })));
        expect(puts.map((p) => p.created)).toEqual(images.map(() => true));
        expect(commits).toEqual([12]);
        expect(store.writer.counters()).toMatchObject({ groupsCommitted: 1, writesCommitted: 12, groupsRetried: 0, writesFailed: 0 });
        for (const bytes of images) expect((await readBack(store, sha(bytes))).equals(bytes)).toBe(true);
        expect(await countRows(store, 'blob_chunks')).toBe(kind === 'database' ? 36 : 0);
      });
    });
  }

  it('with database bytes, a blob one store puts is read, deduplicated and deleted through another on the same database', async () => {
    const { a, b, otherDir } = await twoStores(target);

    const bytes = randomBytes(CHUNK_BYTES * 3 + 5);
    const hash = sha(bytes);
    expect(await a.blobs.put(bytes, { mediaType: 'image/jpeg', width: 2, height: 3 })).toEqual({ sha256: hash, created: true });
    const found = await b.blobs.get(hash);
    expect(found?.meta).toMatchObject({ sha256: hash, bytes: bytes.byteLength, mediaType: 'image/jpeg', width: 2, height: 3 });
    expect((await found!.read()).equals(bytes)).toBe(true);
    expect(await b.blobs.put(bytes, { mediaType: 'image/jpeg' })).toEqual({ sha256: hash, created: false });
    expect(await countRows(a, 'blob_chunks', hash)).toBe(4);

    expect(await b.blobs.delete(hash)).toBe(true);
    expect(await a.blobs.get(hash)).toBeUndefined();
    expect(await countRows(a, 'blob_chunks')).toBe(0);
    expect(existsSync(join(otherDir, 'blobs'))).toBe(false);
  });

  // Two SQLite connections in one process would block each other's synchronous busy waits; the
  // point is replicas on a shared MySQL/MariaDB server, so the case is declared there only.
  if (target.name === 'mariadb')
    it('with database bytes, two stores putting the same bytes at once both succeed and store them once', async () => {
      const { a, b } = await twoStores(target);

      const images = Array.from({ length: 6 }, (_, i) => randomBytes(CHUNK_BYTES * 2 + 1 + i));
      const puts = await Promise.all(images.flatMap((bytes) => [a, b, a, b].map((s) => s.blobs.put(bytes, { mediaType: 'image/png' }))));
      for (let i = 0; i < images.length; i++) {
        const mine = puts.slice(i * 4, i * 4 + 4);
        expect(mine.map((p) => p.sha256)).toEqual(Array(4).fill(sha(images[i])));
        expect(mine.filter((p) => p.created)).toHaveLength(1);
      }
      expect(await countRows(a, 'blobs')).toBe(6);
      expect(await countRows(a, 'blob_chunks')).toBe(18);
      for (const bytes of images) {
        expect((await readBack(a, sha(bytes))).equals(bytes)).toBe(true);
        expect((await readBack(b, sha(bytes))).equals(bytes)).toBe(true);
      }
    });
});
