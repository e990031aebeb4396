import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { startTestServer } from './helpers/server.js';

type Json = Record<string, any>;

/**
 * A 2 MiB tmpfs as the data dir (SQLite file and blobs), filled up and freed again. Mounting
 * needs root; without it the suite is skipped with that reason, except under CI=true.
 */
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === 'true') throw new Error('the disk-full suite mounts a tmpfs and must run as root under CI=true');
if (!isRoot) console.warn('[disk-full] skipped: mounting a tmpfs needs root');

/** Writes zeros until the file system says ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!isRoot)('a full disk', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sightline-full-'));
  const filler = path.join(dir, 'filler');
  const logs: Json[] = [];
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let mounted = false;

  beforeAll(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    mounted = true;
    const stream = new Writable({
      write(line, _enc, done) {
        logs.push(JSON.parse(line.toString()) as Json);
        done();
      },
    });
    server = await startTestServer({ SIGHTLINE_DATA_DIR: dir }, { logger: pino({ level: 'info' }, stream) });
  });

  afterAll(async () => {
    await server?.close();
    if (mounted) execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: Json) =>
    fetch(`${server.url}/v1/detections`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const detection = async (shade: number, withImage: boolean) => ({
    cameraId: 'cam-1',
    trackId: 1,
    label: 'car',
    confidence: 0.9,
    detectedAt: 1_700_000_000_000 + shade,
    ...(withImage ? { image: (await solidImage('png', 32, 32, [shade, 0, 0])).toString('base64') } : {}),
  });
  const fullLogs = (storage: string) => logs.filter((l) => l.msg.startsWith('storage is full') && l.storage === storage);

  it('answers 507 while the disk is full, logs it once, loses nothing accepted, and stores again once space is freed', async () => {
    const before = await post(await detection(1, true));
    expect(before.status).toBe(201);
    const kept = (await before.json()) as Json;

    fill(filler);
    // Blob writes: every snapshot is refused with the same answer, and the log says so once.
    for (let shade = 2; shade < 5; shade++) {
      const res = await post(await detection(shade, true));
      expect(res.status).toBe(507);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toEqual({
        error: { code: 'insufficient_storage', message: 'no space left to store this (blob files); try again once space is freed' },
      });
    }
    expect(fullLogs('blob files')).toHaveLength(1);

    // Database writes (SQLITE_FULL): rows without images fill whatever room the database file had left.
    const meta = { note: 'x'.repeat(60_000) };
    const statuses: number[] = [];
    for (let i = 0; i < 200 && !statuses.includes(507); i++) {
      const res = await post({
        detections: Array.from({ length: 4 }, (_, k) => ({
          ...{ cameraId: 'cam-2', trackId: k, label: 'car', confidence: 0.5, detectedAt: i * 10 + k },
          meta,
        })),
      });
      statuses.push(res.status);
      if (res.status === 507) {
        expect(await res.json()).toEqual({
          error: { code: 'insufficient_storage', message: 'no space left to store this (database); try again once space is freed' },
        });
      }
    }
    expect(statuses.filter((s) => s !== 201 && s !== 507)).toEqual([]);
    expect(statuses.at(-1)).toBe(507);
    expect(fullLogs('database')).toHaveLength(1);

    // What was accepted before is still there.
    const read = await fetch(`${server.url}/v1/detections/${kept.id}`);
    expect(read.status).toBe(200);
    const image = await fetch(`${server.url}/v1/images/${kept.imageSha256}`);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(await solidImage('png', 32, 32, [1, 0, 0]));

    unlinkSync(filler);
    expect((await post(await detection(6, true))).status).toBe(201);
    expect((await post(await detection(7, false))).status).toBe(201);
    expect(
      logs
        .filter((l) => l.msg.startsWith('storage has space again'))
        .map((l) => l.storage)
        .sort(),
    ).toEqual(['blob files', 'database']);
  });
});
