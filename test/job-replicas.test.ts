/**
 * Two servers on one MariaDB database, as two replicas are: every job runs once, a job whose
 * replica stopped renewing its lease is taken over after the lease runs out, and a job abandoned at
 * shutdown goes to the other replica at once.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { openStore } from '../dist/src/store/index.js';
import type { JobAnswer, JobPageAnswer } from './helpers/answers.js';
import { databaseTargets, freshDatabase } from './helpers/databases.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const mariadb = databaseTargets.find((t) => t.name === 'mariadb')!;
const labels = ['red', 'green', 'blue'];
const classifier = linearClassifier({ classes: 3 });
const manifest = (batching: Record<string, unknown>) => ({ task: 'classify', input: plainInput, head: { labels }, batching });
const quickRepo = makeModelRepo({ cls: { onnx: classifier.bytes, manifest: manifest({ maxBatchSize: 8, maxQueueDelayMs: 2 }) } });
// Batches wait 10 s for company: a job stays running on it.
const heldRepo = makeModelRepo({ cls: { onnx: classifier.bytes, manifest: manifest({ maxBatchSize: 64, maxQueueDelayMs: 10_000, waitWhenIdle: true }) } });
const colours: Array<[number, number, number]> = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
];

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);

async function job(base: string, id: string): Promise<JobAnswer> {
  return (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as JobAnswer;
}

async function waitFor(base: string, id: string, done: (job: JobAnswer) => boolean, timeoutMs = 30_000): Promise<JobAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await job(base, id);
    if (done(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${answer.status} on ${answer.replica}, attempt ${answer.attempts}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function submit(base: string, rgb: [number, number, number]): Promise<string> {
  const res = await fetch(`${base}/v1/jobs?model=cls`, { method: 'POST', body: await png(rgb), headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe.skipIf(mariadb.skipReason !== undefined)(
  `jobs on two replicas sharing a MariaDB database${mariadb.skipReason ? ` (${mariadb.skipReason})` : ''}`,
  () => {
    interface Spec {
      id: string;
      repo: string;
      env?: Record<string, string>;
    }

    /** One scratch database and a way to start replicas on it; they share the data dir, so local image files are shared as on one machine. */
    async function database(): Promise<{ start(spec: Spec): Promise<Server>; url: string; dataDir: string }> {
      const db = await freshDatabase(mariadb);
      return {
        url: db.url,
        dataDir: db.dataDir,
        async start(spec) {
          const server = await startTestServer({
            SIGHTLINE_DATABASE_URL: db.url,
            SIGHTLINE_DATA_DIR: db.dataDir,
            SIGHTLINE_MODELS_DIR: spec.repo,
            SIGHTLINE_CALIBRATE: 'false',
            SIGHTLINE_REPLICA_ID: spec.id,
            SIGHTLINE_JOB_LEASE_MS: '2000',
            ...spec.env,
          });
          onTestFinished(() => server.close());
          await server.modelsLoaded;
          return server;
        },
      };
    }

    async function replicas(...specs: Spec[]): Promise<{ servers: Server[]; url: string; dataDir: string }> {
      const db = await database();
      const servers: Server[] = [];
      for (const spec of specs) servers.push(await db.start(spec));
      return { servers, url: db.url, dataDir: db.dataDir };
    }

    it('runs 40 jobs submitted to two replicas each once, and successfully', async () => {
      const { servers } = await replicas(
        { id: 'replica-a', repo: quickRepo, env: { SIGHTLINE_JOB_CONCURRENCY: '2' } },
        { id: 'replica-b', repo: quickRepo, env: { SIGHTLINE_JOB_CONCURRENCY: '2' } },
      );
      const submitted = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => ({ id: await submit(servers[i % 2].url, colours[i % 3]), label: labels[i % 3] })),
      );
      for (const { id } of submitted) await waitFor(servers[0].url, id, (j) => j.status === 'succeeded' || j.status === 'failed');
      const page = (await (await fetch(`${servers[1].url}/v1/jobs?limit=100`)).json()) as JobPageAnswer;
      expect(page.items).toHaveLength(40);
      for (const item of page.items) {
        expect(item).toMatchObject({ status: 'succeeded', attempts: 1, error: null });
        expect(['replica-a', 'replica-b']).toContain(item.replica);
      }
      // Each replica claims what is submitted to it while it has a free slot.
      expect(new Set(page.items.map((item) => item.replica)).size).toBe(2);
      for (const { id, label } of submitted) {
        expect(((await (await fetch(`${servers[1].url}/v1/jobs/${id}/result`)).json()) as { label: string }).label).toBe(label);
      }
    });

    it('takes over a job whose replica stopped renewing its lease, once the lease ran out', async () => {
      const { servers, url, dataDir } = await replicas({ id: 'replica-a', repo: quickRepo }, { id: 'replica-b', repo: quickRepo });
      // A replica that claims a job and then dies: its lease is never renewed.
      const dead = await openStore({ url, dataDir });
      onTestFinished(() => dead.close());
      const image = (await dead.blobs.put(await png([0, 0, 255]), { mediaType: 'image/png' })).sha256;
      const { job: created } = await dead.jobs.create({ model: 'cls', imageSha256: image });
      const claimed = (await dead.jobs.claim(created.id, { owner: 'dead-replica', leaseMs: 1500 }))!;
      expect(claimed).toMatchObject({ status: 'running', attempts: 1, replica: 'dead-replica' });

      // While the lease holds, no live replica takes it.
      await new Promise((r) => setTimeout(r, 300));
      expect(await job(servers[0].url, created.id)).toMatchObject({ status: 'running', attempts: 1, replica: 'dead-replica' });

      const done = await waitFor(servers[0].url, created.id, (j) => j.status === 'succeeded', 15_000);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, error: null, startedAt: claimed.startedAt });
      expect(['replica-a', 'replica-b']).toContain(done.replica);
      expect(done.finishedAt).toBeGreaterThanOrEqual(claimed.leaseExpiresAt!);
      expect(((await (await fetch(`${servers[1].url}/v1/jobs/${created.id}/result`)).json()) as { label: string }).label).toBe('blue');
    });

    it('hands a job abandoned at shutdown to the other replica at once, not after its lease', async () => {
      const db = await database();
      // Its lease would hold for a minute: only the release at stop lets the other replica in sooner.
      const held = await db.start({
        id: 'replica-held',
        repo: heldRepo,
        env: { SIGHTLINE_JOB_LEASE_MS: '60000', SIGHTLINE_SHUTDOWN_TIMEOUT_MS: '200', SIGHTLINE_JOB_CONCURRENCY: '1' },
      });
      const id = await submit(held.url, [0, 255, 0]);
      expect(await waitFor(held.url, id, (j) => j.status === 'running')).toMatchObject({ replica: 'replica-held', attempts: 1 });
      // Started once the job is held: its scans see a live lease and leave it.
      const live = await db.start({ id: 'replica-live', repo: quickRepo });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await job(live.url, id)).toMatchObject({ status: 'running', replica: 'replica-held', attempts: 1 });
      const stopped = Date.now();
      await held.close();
      const done = await waitFor(live.url, id, (j) => j.status === 'succeeded', 15_000);
      expect(Date.now() - stopped).toBeLessThan(10_000);
      expect(done).toMatchObject({ status: 'succeeded', attempts: 2, replica: 'replica-live', error: null });
    });
  },
);
