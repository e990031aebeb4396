import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore, parseDatabaseUrl, redactDatabaseUrl } from '../dist/src/store/index.js';
import { describeEachDatabase, freshDatabase } from './helpers/databases.js';

const PNG = (n: number) => Buffer.from(`image-${n}`);

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sightline-store-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('database URLs', () => {
  it('names the scheme of an unsupported URL and hides the password', async () => {
    expect(() => parseDatabaseUrl('postgres://u:secret@db/x')).toThrow('unsupported database URL scheme "postgres:" in "postgres://u:***@db/x"');
    await expect(openStore({ url: 'redis://localhost/0', dataDir: '/tmp/unused' })).rejects.toThrow('unsupported database URL scheme "redis:"');
  });

  it('reads SQLite and MySQL forms', () => {
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ kind: 'sqlite', file: ':memory:' });
    expect(parseDatabaseUrl('sqlite:/var/lib/s.db')).toEqual({ kind: 'sqlite', file: '/var/lib/s.db' });
    expect(parseDatabaseUrl('sqlite:///var/lib/s.db')).toEqual({ kind: 'sqlite', file: '/var/lib/s.db' });
    expect(parseDatabaseUrl('mysql://app:p%40ss@db.local:3307/vision?connectionLimit=4')).toEqual({
      kind: 'mysql',
      host: 'db.local',
      port: 3307,
      user: 'app',
      password: 'p@ss',
      database: 'vision',
      connectionLimit: 4,
    });
    expect(parseDatabaseUrl('mariadb://root@127.0.0.1/test')).toMatchObject({ kind: 'mysql', port: 3306, database: 'test' });
    expect(() => parseDatabaseUrl('mysql://root@127.0.0.1:3306/')).toThrow('must name one database');
    expect(redactDatabaseUrl('mysql://app:hunter2@h:1/d')).toBe('mysql://app:***@h:1/d');
  });

  it('opens an in-memory SQLite database', async () => {
    const dataDir = await scratchDir();
    const store = await openStore({ url: 'sqlite::memory:', dataDir });
    onTestFinished(() => store.close());
    const blob = await store.blobs.put(PNG(1), { mediaType: 'image/png' });
    const { job } = await store.jobs.create({ model: 'm', imageSha256: blob.sha256 });
    expect((await store.jobs.get(job.id))?.status).toBe('queued');
    expect(store.kind).toBe('sqlite');
  });

  it('uses <dataDir>/sightline.db when no URL is given', async () => {
    const dataDir = await scratchDir();
    const store = await openStore({ dataDir });
    await store.close();
    expect(store.url).toBe(`sqlite:${join(dataDir, 'sightline.db')}`);
    const entries = await readdir(dataDir);
    expect(entries).toContain('sightline.db');
    expect(entries).toContain('blobs');
  });
});

describeEachDatabase('store lifecycle', (target) => {
  it('runs migrations once: opening twice keeps schema and data', async () => {
    const db = await freshDatabase(target);
    const first = await openStore({ url: db.url, dataDir: db.dataDir });
    const blob = await first.blobs.put(PNG(2), { mediaType: 'image/png', width: 3, height: 4 });
    await first.close();

    const second = await openStore({ url: db.url, dataDir: db.dataDir });
    onTestFinished(() => second.close());
    const migrations = await sql<{ name: string }>`select name from sightline_migration order by name`.execute(second.db);
    expect(migrations.rows.map((r) => r.name)).toEqual(['0001_initial', '0002_evaluations', '0003_leases', '0004_blob_chunks']);
    const meta = await second.blobs.get(blob.sha256);
    expect(meta?.meta).toMatchObject({ sha256: blob.sha256, bytes: 7, mediaType: 'image/png', width: 3, height: 4 });
  });

  it('lists unfinished jobs after a restart and requeues running ones', async () => {
    const db = await freshDatabase(target);
    const before = await openStore({ url: db.url, dataDir: db.dataDir });
    const blob = await before.blobs.put(PNG(3), { mediaType: 'image/jpeg' });
    const a = (await before.jobs.create({ model: 'ocr', imageSha256: blob.sha256 })).job;
    const b = (await before.jobs.create({ model: 'ocr', imageSha256: blob.sha256 })).job;
    const c = (await before.jobs.create({ model: 'ocr', imageSha256: blob.sha256 })).job;
    const d = (await before.jobs.create({ model: 'ocr', imageSha256: blob.sha256 })).job;
    await before.jobs.markRunning(b.id);
    await before.jobs.markRunning(c.id);
    await before.jobs.markSucceeded(c.id, { text: 'done' });
    await before.jobs.markFailed(d.id, 'model missing');
    await before.close();

    const after = await openStore({ url: db.url, dataDir: db.dataDir });
    onTestFinished(() => after.close());
    const unfinished = await after.jobs.listUnfinished();
    expect(unfinished.map((j) => [j.id, j.status])).toEqual([
      [a.id, 'queued'],
      [b.id, 'running'],
    ]);
    expect(await after.jobs.resetRunning()).toBe(1);
    const requeued = await after.jobs.get(b.id);
    expect(requeued).toMatchObject({ status: 'queued', startedAt: null });
    expect((await after.jobs.listUnfinished()).map((j) => [j.id, j.status])).toEqual([
      [a.id, 'queued'],
      [b.id, 'queued'],
    ]);
    expect(await after.jobs.get(c.id)).toMatchObject({ status: 'succeeded', result: { text: 'done' } });
  });

  it('waits for accepted writes on close and refuses writes afterwards', async () => {
    const db = await freshDatabase(target);
    const store = await openStore({ url: db.url, dataDir: db.dataDir, groupCommitMs: 20 });
    const pending = store.detections.insertMany([{ cameraId: 'cam-1', trackId: 't1', label: 'car', confidence: 0.5, detectedAt: 1000 }]);
    await store.close();
    const [id] = await pending;
    await expect(store.detections.insertMany([{ cameraId: 'cam-1', trackId: 't1', label: 'car', confidence: 0.5, detectedAt: 1000 }])).rejects.toMatchObject({
      status: 503,
    });

    const reopened = await openStore({ url: db.url, dataDir: db.dataDir });
    onTestFinished(() => reopened.close());
    expect((await reopened.detections.get(id))?.cameraId).toBe('cam-1');
  });
});
