/**
 * Three replicas behind HAProxy on the machine's MariaDB, NATS and Redis, as real processes: events
 * reach every replica's subscribers once, jobs run once (and survive a replica's death), a rolling
 * restart drops nothing, and a key's rate limit holds across replicas.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorAnswer, JobAnswer, JobPageAnswer } from './helpers/answers.js';
import { type Cluster, startCluster, waitForAllReplicas } from './helpers/cluster.js';
import { gradientImage } from './helpers/images.js';
import { FrameClient } from './helpers/ws-client.js';

const FLEET_KEY = 'fleet-key-0123456789';
const LIMITED_KEY = 'limited-key-0123456789';
const LIMIT = { rps: 2, burst: 10 };

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let cluster: Cluster;
let image: Buffer;
let imageSha256: string;
const sockets: FrameClient[] = [];

beforeAll(async () => {
  const keysFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-cluster-keys-')), 'keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify([
      { name: 'fleet', sha256: sha256(FLEET_KEY), scopes: ['predict', 'ingest', 'read', 'admin'] },
      { name: 'limited', sha256: sha256(LIMITED_KEY), scopes: ['read'], rateLimit: LIMIT },
    ]),
  );
  cluster = await startCluster({ replicas: 3, env: { SIGHTLINE_API_KEYS_FILE: keysFile }, headers: { 'x-api-key': FLEET_KEY } });
  image = await gradientImage('png', 192, 48);
  const uploaded = await call('POST', '/v1/images', image, 'image/png');
  expect([200, 201]).toContain(uploaded.status);
  imageSha256 = ((await uploaded.json()) as { sha256: string }).sha256;
}, 240_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await cluster?.close();
});

/** A request through the balancer with the fleet key. */
function call(method: string, pathAndQuery: string, body?: Buffer | string, contentType = 'application/json', key = FLEET_KEY): Promise<Response> {
  return fetch(`${cluster.url}${pathAndQuery}`, {
    method,
    headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
}

/** Runs `task(i)` for i in 0..n-1 with at most `concurrency` at once. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

async function allJobs(): Promise<JobAnswer[]> {
  const jobs: JobAnswer[] = [];
  let cursor: string | null = null;
  do {
    const res = await call('GET', `/v1/jobs?limit=1000${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as JobPageAnswer;
    jobs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return jobs;
}

/** Waits until every job in `ids` has finished; polls through the balancer (a dead replica's share is retried there). */
async function finished(ids: ReadonlySet<string>, timeoutMs: number): Promise<Map<string, JobAnswer>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const byId = new Map((await allJobs()).filter((j) => ids.has(j.id)).map((j) => [j.id, j]));
    const open = [...byId.values()].filter((j) => j.status === 'queued' || j.status === 'running');
    if (byId.size === ids.size && open.length === 0) return byId;
    if (Date.now() > deadline) throw new Error(`${open.length} of ${ids.size} jobs still open after ${timeoutMs} ms (${byId.size} listed)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function submitJobs(n: number): Promise<string[]> {
  return pool(n, 8, async () => {
    const res = await call('POST', '/v1/jobs', JSON.stringify({ model: 'text-direction', imageSha256 }));
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  });
}

describe('three replicas behind HAProxy', () => {
  it('names each replica in /v1/models, and the balancer reaches all three', async () => {
    for (const replica of cluster.replicas) {
      const res = await fetch(`${replica.url}/v1/models`, { headers: { 'x-api-key': FLEET_KEY } });
      expect(((await res.json()) as { replica: string }).replica).toBe(replica.id);
    }
    await waitForAllReplicas(cluster.url, cluster.replicas, 10_000, { 'x-api-key': FLEET_KEY });
  });

  it('delivers every one of 500 detections posted through the balancer to a subscriber on each replica, each exactly once', async () => {
    const subscribers = await Promise.all(
      cluster.replicas.map(async (replica) => {
        const socket = await FrameClient.open(`${replica.url.replace('http://', 'ws://')}/v1/ws?key=${FLEET_KEY}`);
        sockets.push(socket);
        expect(await socket.ask({ type: 'subscribe', topic: 'detections' })).toEqual({ type: 'subscribed', topics: ['detections'] });
        return socket;
      }),
    );
    const ids = await pool(500, 10, async (i) => {
      const body = JSON.stringify({ cameraId: `cam-${i % 7}`, trackId: `t-${i}`, label: 'car', confidence: 0.5, detectedAt: 1_700_000_000_000 + i });
      const res = await call('POST', '/v1/detections', body);
      if (res.status !== 201) throw new Error(`POST /v1/detections answered ${res.status}: ${await res.text()}\n${cluster.balancerOutput()}`);
      return ((await res.json()) as { id: string }).id;
    });
    expect(new Set(ids).size).toBe(500);
    const deadline = Date.now() + 30_000;
    for (const socket of subscribers) {
      while (socket.received.length < 501 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    // Stragglers would be duplicates: give them time to arrive before counting.
    await new Promise((r) => setTimeout(r, 500));
    for (const socket of subscribers) {
      const events = socket.received.slice(1).filter((f) => f.event === 'detection.created');
      const seen = events.map((f) => (f.data as { id: string }).id);
      expect(seen.length).toBe(500);
      expect(new Set(seen)).toEqual(new Set(ids));
    }
  }, 120_000);

  it('runs 300 jobs submitted through the balancer, each once and successfully, spread over the replicas', async () => {
    const ids = new Set(await submitJobs(300));
    expect(ids.size).toBe(300);
    const jobs = await finished(ids, 120_000);
    const statuses = [...jobs.values()].map((j) => j.status);
    expect(statuses.filter((s) => s !== 'succeeded')).toEqual([]);
    expect([...jobs.values()].map((j) => j.attempts).filter((a) => a !== 1)).toEqual([]);
    const ranOn = new Set([...jobs.values()].map((j) => j.replica));
    expect(ranOn.size).toBe(3);
  }, 180_000);

  it('loses no job when a replica is SIGKILLed mid-run: only the jobs it had claimed run a second time', async () => {
    const victim = cluster.replicas[1];
    try {
      // A job takes milliseconds: the victim may finish the ones seen running before the kill lands.
      // Such a round proves less, so it is run again (the victim restarted), up to three times.
      for (let round = 1; ; round++) {
        const ids = new Set(await submitJobs(300));
        const deadline = Date.now() + 60_000;
        for (;;) {
          const jobs = (await allJobs()).filter((j) => ids.has(j.id));
          const done = jobs.filter((j) => j.status === 'succeeded').length;
          if (done >= 30 && jobs.some((j) => j.status === 'running' && j.replica === victim.id)) break;
          if (Date.now() > deadline) throw new Error('the victim never held a running job');
          await new Promise((r) => setTimeout(r, 20));
        }
        await victim.kill();
        // Its leases cannot change any more, and no other replica may take them before they expire (3 s).
        const claimedByVictim = (await allJobs()).filter((j) => ids.has(j.id) && j.status === 'running' && j.replica === victim.id).map((j) => j.id);

        const jobs = await finished(ids, 180_000);
        expect([...jobs.values()].filter((j) => j.status !== 'succeeded').map((j) => [j.id, j.status, j.error])).toEqual([]);
        const retried = [...jobs.values()].filter((j) => j.attempts > 1);
        expect(new Set(retried.map((j) => j.id))).toEqual(new Set(claimedByVictim));
        expect(retried.every((j) => j.attempts === 2 && j.replica !== victim.id)).toBe(true);
        if (claimedByVictim.length > 0) break;
        if (round === 3) throw new Error('in three rounds the victim never died holding a job');
        await victim.start();
        await waitForAllReplicas(cluster.url, cluster.replicas, 20_000, { 'x-api-key': FLEET_KEY });
      }
    } finally {
      // The tests after this one need all three replicas.
      if (victim.child?.exitCode !== null || victim.child?.signalCode !== null) await victim.start();
      await waitForAllReplicas(cluster.url, cluster.replicas, 20_000, { 'x-api-key': FLEET_KEY });
    }
  }, 300_000);

  it("holds one key's rate limit across the three replicas", async () => {
    // 3 × the burst at once: with buckets per replica, up to all of them would pass.
    const answers = await Promise.all(Array.from({ length: 3 * LIMIT.burst }, () => call('GET', '/v1/models', undefined, undefined, LIMITED_KEY)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(LIMIT.burst);
    expect(statuses.filter((s) => s === 429).length).toBe(2 * LIMIT.burst);
    const refused = answers.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as ErrorAnswer).error.code).toBe('rate_limited');
    const replicas = new Set(await Promise.all(answers.filter((r) => r.status === 200).map(async (r) => ((await r.json()) as { replica: string }).replica)));
    expect(replicas.size).toBeGreaterThan(1);
    // The fleet key has no limit of its own: unaffected.
    expect((await call('GET', '/v1/models')).status).toBe(200);
  }, 60_000);

  it('drops no request during a rolling restart of all three replicas under steady load', async () => {
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const predict = (n + i) % 2 === 0;
        const res = await (
          predict
            ? call('POST', '/v1/models/text-direction/predict', image, 'image/png')
            : call('POST', '/v1/detections', JSON.stringify({ cameraId: 'rolling', trackId: `t-${n}-${i}`, label: 'car', confidence: 0.5, detectedAt: 1 }))
        ).catch((err: Error) => err);
        if (res instanceof Error) failures.push(`${predict ? 'predict' : 'detection'}: ${res.message}`);
        else {
          const text = await res.text();
          if (res.status !== (predict ? 200 : 201)) failures.push(`${predict ? 'predict' : 'detection'}: ${res.status} ${text.slice(0, 200)}`);
          else answered++;
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(client));
    for (const replica of cluster.replicas) {
      expect(await replica.stop()).toBe(0);
      await replica.start();
      await waitForAllReplicas(cluster.url, cluster.replicas, 20_000, { 'x-api-key': FLEET_KEY });
    }
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    for (const replica of cluster.replicas) expect(replica.output()).toMatch(/draining: \/health\/ready answers 503 for 3000 ms/);
  }, 300_000);
});
