import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargets, type TestDatabase } from './helpers/databases.js';
import { encode, fromRaw } from './helpers/images.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const mariadb = databaseTargets.find((t) => t.name === 'mariadb')!;

// Replicas share images through a MySQL/MariaDB server; SQLite is one machine's database.
describe.skipIf(mariadb.skipReason !== undefined)('two servers on one MariaDB database with SIGHTLINE_BLOBS=database', () => {
  let db: TestDatabase;
  let otherDir: string;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    db = await mariadb.create();
    otherDir = mkdtempSync(path.join(tmpdir(), 'sightline-test-'));
    const env = { SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_BLOBS: 'database' };
    // One after the other: each migrates the schema at start.
    a = await startTestServer({ ...env, SIGHTLINE_DATA_DIR: db.dataDir });
    b = await startTestServer({ ...env, SIGHTLINE_DATA_DIR: otherDir });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    rmSync(otherDir, { recursive: true, force: true });
  });

  it('an image uploaded to one is downloaded byte-identical from the other, stored once, and deleted for both', async () => {
    // Noise does not compress: a PNG of a few chunks.
    const width = 800;
    const height = 600;
    const png = await encode(fromRaw(randomBytes(width * height * 3), width, height), 'png');
    expect(png.byteLength).toBeGreaterThan(2 * 512 * 1024);
    const hash = sha(png);
    const upload = (server: Server) => fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png });

    const stored = await upload(a);
    expect(stored.status).toBe(201);
    expect(await stored.json()).toEqual({ sha256: hash, mediaType: 'image/png', width, height, bytes: png.byteLength });

    const read = await fetch(`${b.url}/v1/images/${hash}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toBe('image/png');
    expect(read.headers.get('etag')).toBe(`"${hash}"`);
    const body = Buffer.from(await read.arrayBuffer());
    expect(body.byteLength).toBe(png.byteLength);
    expect(body.equals(png)).toBe(true);

    // The same bytes sent to the other server are already stored.
    const again = await upload(b);
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    const rows = await a.store.db.selectFrom('blob_chunks').select('seq').where('sha256', '=', hash).orderBy('seq').execute();
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: Math.ceil(png.byteLength / (512 * 1024)) }, (_, i) => i));
    expect(existsSync(path.join(db.dataDir, 'blobs'))).toBe(false);
    expect(existsSync(path.join(otherDir, 'blobs'))).toBe(false);

    const deleted = await fetch(`${b.url}/v1/images/${hash}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    const gone = await fetch(`${a.url}/v1/images/${hash}`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ error: { code: 'not_found', message: `image ${hash} not found` } });
    const left = await a.store.db.selectFrom('blob_chunks').select('seq').where('sha256', '=', hash).execute();
    expect(left).toEqual([]);
  });
});
