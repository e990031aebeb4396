import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeEachDatabase, freshDatabase } from './helpers/databases.js';
import { solidImage } from './helpers/images.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { repoRoot } from './helpers/server.js';

type Json = Record<string, any>;

const main = path.join(repoRoot, 'dist', 'src', 'main.js');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** The test's environment without SIGHTLINE_* settings, so the server uses its defaults (SQLite in the data dir). */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SIGHTLINE_')));
}

/** Starts `sightline serve` in a child process and reads its port from the JSON log line. */
async function spawnServer(dataDir: string, modelsDir: string, databaseUrl?: string): Promise<{ child: ChildProcess; base: string }> {
  // One replica id across restarts: this is the same replica coming back, so it takes its own leases over at once.
  const args = [
    main,
    'serve',
    '--port',
    '0',
    '--replica-id',
    'durable-replica',
    '--data-dir',
    dataDir,
    '--models-dir',
    modelsDir,
    ...(databaseUrl ? ['--database-url', databaseUrl] : []),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serverEnv(),
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not log its port within 20 s: ${out}${err}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describeEachDatabase('durability', (target) => {
  it('loses no acknowledged detection when the server is killed with SIGKILL mid-ingestion', async () => {
    const db = await freshDatabase(target);
    const dataDir = db.dataDir;
    const databaseUrl = target.name === 'sqlite' ? undefined : db.url;
    const modelsDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-models-'));
    const first = await spawnServer(dataDir, modelsDir, databaseUrl);
    const snapshots = await Promise.all([0, 1, 2, 3].map((i) => solidImage('png', 16, 16, [i * 60, 20, 200])));
    const acked = new Map<string, string | null>();
    let stop = false;
    let sent = 0;

    async function camera(n: number): Promise<void> {
      for (let i = 0; i < 10_000 && !stop; i++) {
        const withImage = i % 3 === 0;
        const one = (k: number) => ({
          cameraId: `dur-${n}`,
          trackId: `${i}-${k}`,
          label: 'car',
          confidence: 0.5,
          detectedAt: 1_700_000_000_000 + i,
          ...(withImage ? { image: snapshots[(i + k) % 4].toString('base64') } : {}),
        });
        const body = i % 2 === 0 ? one(0) : { detections: [one(0), one(1), one(2)] };
        sent++;
        let res: Response;
        try {
          res = await fetch(`${first.base}/v1/detections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        } catch {
          return; // the server is gone: this request was never acknowledged
        }
        if (res.status !== 201) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
        const answer = (await res.json()) as Json;
        const ids: string[] = answer.ids ?? [answer.id];
        for (const id of ids) acked.set(id, withImage ? 'image' : null);
      }
    }

    const cameras = Array.from({ length: 8 }, (_, n) => camera(n));
    const deadline = Date.now() + 20_000;
    while (acked.size < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Killed while requests are in flight: some of them will never be answered.
    await killed(first.child);
    stop = true;
    await Promise.all(cameras);
    expect(acked.size).toBeGreaterThanOrEqual(400);
    expect(sent).toBeGreaterThan(0);

    const second = await spawnServer(dataDir, modelsDir, databaseUrl);
    try {
      const stored = new Map<string, Json>();
      let cursor: string | null = null;
      for (let page = 0; page < 1000; page++) {
        const res = await fetch(`${second.base}/v1/detections?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        const body = (await res.json()) as Json;
        for (const d of body.items) stored.set(d.id, d);
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      const missing = [...acked.keys()].filter((id) => !stored.has(id));
      expect(missing).toEqual([]);
      // Every acknowledged snapshot is readable too.
      const hashes = new Set([...acked].filter(([, image]) => image !== null).map(([id]) => stored.get(id)!.imageSha256 as string));
      expect(hashes.size).toBeGreaterThan(0);
      for (const hash of hashes) expect((await fetch(`${second.base}/v1/images/${hash}`)).status).toBe(200);
    } finally {
      await killed(second.child);
    }
  });

  it('runs jobs again that were accepted before a SIGKILL', async () => {
    const db = await freshDatabase(target);
    const dataDir = db.dataDir;
    const databaseUrl = target.name === 'sqlite' ? undefined : db.url;
    const classifier = linearClassifier({ classes: 3 });
    const manifest = (maxQueueDelayMs: number, waitWhenIdle = false) => ({
      task: 'classify',
      input: plainInput,
      head: { labels: ['red', 'green', 'blue'] },
      batching: { maxBatchSize: 64, maxQueueDelayMs, waitWhenIdle },
    });
    // Batches wait 10 s here, so the jobs are still running when the process dies.
    const held = makeModelRepo({ cls: { onnx: classifier.bytes, manifest: manifest(10_000, true) } });
    const quick = makeModelRepo({ cls: { onnx: classifier.bytes, manifest: manifest(2) } });

    const first = await spawnServer(dataDir, held, databaseUrl);
    const ids: string[] = [];
    for (const rgb of [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ] as Array<[number, number, number]>) {
      const res = await fetch(`${first.base}/v1/jobs?model=cls`, {
        method: 'POST',
        body: await solidImage('png', 8, 8, rgb),
        headers: { 'content-type': 'image/png' },
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as Json).id);
    }
    for (let i = 0; i < 400; i++) {
      const { items } = (await (await fetch(`${first.base}/v1/jobs`)).json()) as Json;
      if (items.every((j: Json) => j.status === 'running')) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(((await (await fetch(`${first.base}/v1/jobs`)).json()) as Json).items.map((j: Json) => j.status)).toEqual(['running', 'running', 'running']);
    await killed(first.child);

    const second = await spawnServer(dataDir, quick, databaseUrl);
    try {
      const labels: string[] = [];
      for (const id of ids) {
        for (let i = 0; ; i++) {
          const job = (await (await fetch(`${second.base}/v1/jobs/${id}`)).json()) as Json;
          if (job.status === 'succeeded') break;
          if (i > 800) throw new Error(`job ${id} is ${job.status}`);
          await new Promise((r) => setTimeout(r, 25));
        }
        labels.push(((await (await fetch(`${second.base}/v1/jobs/${id}/result`)).json()) as Json).label);
      }
      expect(labels).toEqual(['red', 'green', 'blue']);
    } finally {
      await killed(second.child);
    }
  });
});
