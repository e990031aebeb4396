import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { solidImage } from './helpers/images.js';
import { failingModel, linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';
import { describeEachDatabase, freshDatabase, type TestDatabase } from './helpers/databases.js';
import { createConnection } from 'mysql2/promise';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer } from './helpers/answers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = Record<string, any>;

const labels = ['red', 'green', 'blue'];
const classifier = linearClassifier({ classes: 3 });
const classify = (batching: Json) => ({ onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, batching } });
const repoDir = makeModelRepo({
  cls: classify({ maxBatchSize: 8, maxQueueDelayMs: 5 }),
  slow: classify({ maxBatchSize: 8, maxQueueDelayMs: 600, waitWhenIdle: true }),
  fail: { onnx: failingModel({ magic: 255 }).bytes, manifest: { task: 'raw', input: { ...plainInput, scale: 1 } } },
});
// The same model name twice: one whose batches wait 10 s (jobs stay running), one that answers at once.
const heldRepo = makeModelRepo({ cls: classify({ maxBatchSize: 64, maxQueueDelayMs: 10_000, waitWhenIdle: true }) });

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);

async function waitForJob(base: string, id: string, status: string, timeoutMs = 20_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as Json;
    if (job.status === status) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job.status}, not ${status}, after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describeEachDatabase('async jobs', (target) => {
  let db: TestDatabase;
  let server: Server;

  beforeAll(async () => {
    db = await target.create();
    server = await startTestServer({ SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_DATA_DIR: db.dataDir, SIGHTLINE_MODELS_DIR: repoDir });
    await server.modelsLoaded;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  const submit = (query: string, body: NonNullable<RequestInit['body']>, type: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/v1/jobs${query}`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('moves a job from queued through running to succeeded, announcing each state, with the predict answer as result', async () => {
    const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}/v1/ws`);
    const events: Json[] = [];
    ws.on('message', (d) => events.push(JSON.parse(frameText(d)) as Json));
    await new Promise((r) => ws.once('open', r));
    try {
      ws.send(JSON.stringify({ type: 'subscribe', topic: 'jobs' }));
      while (events.length === 0) await new Promise((r) => setTimeout(r, 5));

      const res = await submit('?model=slow', await png([255, 0, 0]), 'image/png');
      expect(res.status).toBe(202);
      const { id, status } = (await res.json()) as Json;
      expect(status).toBe('queued');
      expect(res.headers.get('location')).toBe(`/v1/jobs/${id}`);

      // The batch waits 600 ms for company: time to see the job running and its result refused.
      const running = await waitForJob(server.url, id, 'running');
      expect(await get(`/v1/jobs/${id}/result`)).toEqual({
        status: 409,
        body: { error: { code: 'job_not_finished', message: `job ${id} is running; the result is available once it succeeded`, status: 'running' } },
      });
      const done = await waitForJob(server.url, id, 'succeeded');
      expect(done).toEqual({
        id,
        model: 'slow',
        status: 'succeeded',
        imageSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        idempotencyKey: null,
        createdAt: expect.any(Number),
        startedAt: running.startedAt,
        finishedAt: expect.any(Number),
        error: null,
        attempts: 1,
        replica: server.config.replicaId,
      });
      expect(running).toMatchObject({ attempts: 1, replica: server.config.replicaId });
      expect(done.startedAt).toBeGreaterThanOrEqual(done.createdAt);
      expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt);

      const result = await get(`/v1/jobs/${id}/result`);
      expect(result.status).toBe(200);
      const predicted = (await (
        await fetch(`${server.url}/v1/models/slow/predict`, { method: 'POST', body: await png([255, 0, 0]), headers: { 'content-type': 'image/png' } })
      ).json()) as Answer<ClassifyAnswer>;
      expect({ ...result.body, latencyMs: 0, batchSize: 0 }).toEqual({ ...predicted, latencyMs: 0, batchSize: 0 });
      expect(result.body.label).toBe('red');

      const mine = events.filter((e) => e.type === 'event' && e.data.id === id);
      expect(mine.map((e) => [e.topic, e.event, e.data.status])).toEqual([
        ['jobs', 'job.updated', 'queued'],
        ['jobs', 'job.updated', 'running'],
        ['jobs', 'job.updated', 'succeeded'],
      ]);
      expect(mine[2].data).toEqual(done);
    } finally {
      ws.close();
    }
  });

  it('takes the image in any form the predict API takes, or the hash of a stored image', async () => {
    const green = await png([0, 255, 0]);
    const form = new FormData();
    form.append('model', 'cls');
    form.append('file', new Blob([green], { type: 'image/png' }), 'g.png');
    const ids: string[] = [];
    const answers = [
      await fetch(`${server.url}/v1/jobs`, { method: 'POST', body: form }),
      await submit('', JSON.stringify({ model: 'cls', image: (await png([0, 0, 255])).toString('base64') }), 'application/json'),
      await submit('?model=cls', JSON.stringify({ image: `data:image/png;base64,${(await png([255, 0, 0])).toString('base64')}` }), 'application/json'),
    ];
    for (const res of answers) {
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as Json).id);
    }
    const first = await waitForJob(server.url, ids[0], 'succeeded');
    const byHash = await submit('', JSON.stringify({ model: 'cls', imageSha256: first.imageSha256 }), 'application/json');
    expect(byHash.status).toBe(202);
    ids.push(((await byHash.json()) as Json).id);
    const results = [];
    for (const id of ids) {
      await waitForJob(server.url, id, 'succeeded');
      results.push((await get(`/v1/jobs/${id}/result`)).body.label);
    }
    expect(results).toEqual(['green', 'blue', 'red', 'green']);
    // The stored image is the one sent.
    const image = await fetch(`${server.url}/v1/images/${first.imageSha256}`);
    expect(Buffer.from(await image.arrayBuffer())).toEqual(green);
  });

  it('returns the same job for a repeated Idempotency-Key', async () => {
    const img = await png([0, 0, 255]);
    const key = `key-${target.name}-1`;
    const a = await submit('?model=cls', img, 'image/png', { 'idempotency-key': key });
    const b = await submit('?model=cls', img, 'image/png', { 'idempotency-key': key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(200);
    const ja = (await a.json()) as Json;
    const jb = (await b.json()) as Json;
    expect(jb.id).toBe(ja.id);
    expect((await get(`/v1/jobs/${ja.id}`)).body.idempotencyKey).toBe(key);

    // Concurrent submissions with one key make one job.
    const key2 = `key-${target.name}-2`;
    const all = await Promise.all(Array.from({ length: 5 }, () => submit('?model=cls', img, 'image/png', { 'idempotency-key': key2 })));
    const bodies = (await Promise.all(all.map((r) => r.json()))) as Json[];
    expect(new Set(bodies.map((x) => x.id)).size).toBe(1);
    expect(all.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 202]);
    expect((await get(`/v1/jobs?limit=1000`)).body.items.filter((j: Json) => j.idempotencyKey === key2)).toHaveLength(1);

    const other = await submit('?model=cls', await png([1, 2, 3]), 'image/png', { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(await other.json()).toEqual({ error: { code: 'conflict', message: 'this idempotency key was already used for a different model or image' } });
    const bad = await submit('?model=cls', img, 'image/png', { 'idempotency-key': 'has space' });
    expect(await bad.json()).toEqual({
      error: { code: 'bad_request', message: 'Idempotency-Key: must be 1 to 255 visible ASCII characters', field: 'Idempotency-Key' },
    });
  });

  it('records a failed run and refuses its result with the reason', async () => {
    const res = await submit('?model=fail', await solidImage('png', 8, 8, [255, 255, 255]), 'image/png');
    const { id } = (await res.json()) as Json;
    const failed = await waitForJob(server.url, id, 'failed');
    expect(failed.error).toMatch(/^model fail failed to run a batch: /);
    expect(failed.finishedAt).toBeGreaterThanOrEqual(failed.startedAt);
    expect(await get(`/v1/jobs/${id}/result`)).toEqual({
      status: 409,
      body: { error: { code: 'job_failed', message: `job ${id} failed: ${failed.error}`, status: 'failed' } },
    });
  });

  it('refuses bad submissions with the field at fault, storing nothing', async () => {
    const img = await png([9, 9, 9]);
    const before = (await get('/v1/jobs?limit=1000')).body.items.length;
    const cases: Array<[Response, number, Json]> = [
      [await submit('?model=nope', img, 'image/png'), 404, { code: 'not_found', message: 'model "nope" not found' }],
      [await submit('', img, 'image/png'), 400, { code: 'bad_request', message: 'model: name the model with ?model= or a "model" field', field: 'model' }],
      [await submit('?model=cls&priority=1', img, 'image/png'), 400, { code: 'bad_request', message: 'priority: unknown query parameter', field: 'priority' }],
      [
        await submit('', JSON.stringify({ model: 'cls', images: [img.toString('base64')] }), 'application/json'),
        400,
        { code: 'bad_request', message: 'images: a job takes one image; submit one job per image', field: 'images' },
      ],
      [
        await submit('', JSON.stringify({ model: 'cls' }), 'application/json'),
        400,
        { code: 'bad_request', message: 'image: missing: expected a base64 image (or "imageSha256" of a stored image)', field: 'image' },
      ],
      [
        await submit('?model=slow', JSON.stringify({ model: 'cls', image: img.toString('base64') }), 'application/json'),
        400,
        { code: 'bad_request', message: 'model: the query and the body name different models', field: 'model' },
      ],
      [
        await submit('', JSON.stringify({ model: 'cls', image: img.toString('base64'), when: 1 }), 'application/json'),
        400,
        { code: 'bad_request', message: 'when: unknown field', field: 'when' },
      ],
      [
        await submit('?model=cls', Buffer.from('plain text'), 'image/png'),
        415,
        { code: 'unsupported_media_type', message: 'image: not a recognised image; supported formats: jpeg, png, webp, gif, tiff, avif', field: 'image' },
      ],
      [
        await submit('', JSON.stringify({ model: 'cls', imageSha256: 'ab'.repeat(32) }), 'application/json'),
        404,
        { code: 'not_found', message: `image ${'ab'.repeat(32)} not found` },
      ],
    ];
    for (const [res, status, error] of cases) {
      expect(res.status, error.message).toBe(status);
      expect(await res.json()).toEqual({ error });
    }
    expect((await get('/v1/jobs?limit=1000')).body.items.length).toBe(before);
  });

  it('refuses a job for a model that cannot run now with the 503 predict gives, storing nothing', async () => {
    const own = await freshDatabase(target);
    const srv = await startTestServer({
      SIGHTLINE_DATABASE_URL: own.url,
      SIGHTLINE_DATA_DIR: own.dataDir,
      SIGHTLINE_MODELS_DIR: makeModelRepo({ cls: classify({ maxBatchSize: 8, maxQueueDelayMs: 5 }) }),
    });
    try {
      await srv.modelsLoaded;
      expect((await fetch(`${srv.url}/v1/models/cls/unload`, { method: 'POST' })).status).toBe(200);
      const img = await png([9, 9, 9]);
      const predicted = await fetch(`${srv.url}/v1/models/cls/predict`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } });
      const predictBody = await predicted.json();
      for (const res of [
        await fetch(`${srv.url}/v1/jobs?model=cls`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } }),
        await fetch(`${srv.url}/v1/jobs`, {
          method: 'POST',
          body: JSON.stringify({ model: 'cls', image: img.toString('base64') }),
          headers: { 'content-type': 'application/json' },
        }),
      ]) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe(predicted.headers.get('retry-after'));
        expect(await res.json()).toEqual(predictBody);
      }
      expect(predicted.status).toBe(503);
      expect(predictBody).toEqual({ error: { code: 'model_unavailable', message: 'model cls is unloaded' } });
      expect(((await (await fetch(`${srv.url}/v1/jobs`)).json()) as Json).items).toEqual([]);
      const missing = await fetch(`${srv.url}/v1/jobs?model=other`, { method: 'POST', body: img, headers: { 'content-type': 'image/png' } });
      expect([missing.status, await missing.json()]).toEqual([404, { error: { code: 'not_found', message: 'model "other" not found' } }]);
    } finally {
      await srv.close();
    }
  });

  it('lists jobs newest first, filtered by status and model, in pages', async () => {
    const ids: string[] = [];
    for (const rgb of [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 0],
    ] as Array<[number, number, number]>) {
      ids.push(((await (await submit('?model=cls', await png(rgb), 'image/png')).json()) as Json).id);
    }
    for (const id of ids) await waitForJob(server.url, id, 'succeeded');
    const pages: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/v1/jobs?model=cls&status=succeeded&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      for (const job of page.body.items) expect([job.model, job.status]).toEqual(['cls', 'succeeded']);
      pages.push(...page.body.items.map((j: Json) => j.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    // Newest first: the four just made lead, in reverse order of creation.
    expect(pages.slice(0, 4)).toEqual([...ids].reverse());
    expect(new Set(pages).size).toBe(pages.length);
    expect((await get('/v1/jobs?model=slow&status=queued')).body).toEqual({ items: [], nextCursor: null });
    expect(await get('/v1/jobs?status=done')).toEqual({
      status: 400,
      body: { error: { code: 'bad_request', message: 'status: must be one of queued, running, succeeded, failed', field: 'status' } },
    });
    expect((await get('/v1/jobs?limit=0')).status).toBe(400);
    expect((await get('/v1/jobs?sort=asc')).status).toBe(400);
  });

  it('deletes a job, announcing it on its topic, and answers 404 for an absent one', async () => {
    const { id } = (await (await submit('?model=slow', await png([3, 3, 3]), 'image/png')).json()) as Json;
    const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}/v1/ws`);
    const messages: Json[] = [];
    ws.on('message', (d) => messages.push(JSON.parse(frameText(d)) as Json));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', topic: `jobs/${id.toUpperCase()}` }));
    while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(messages[0]).toEqual({ type: 'subscribed', topics: [`jobs/${id}`] });
    // Deleted while its batch waits: it never completes.
    const del = await fetch(`${server.url}/v1/jobs/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    while (!messages.some((m) => m.event === 'job.deleted')) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 800));
    ws.close();
    expect(messages.filter((m) => m.type === 'event').map((m) => [m.topic, m.event, m.data.status])).toEqual([
      ...(messages.some((m) => m.data?.status === 'running') ? [[`jobs/${id}`, 'job.updated', 'running']] : []),
      [`jobs/${id}`, 'job.deleted', undefined],
    ]);
    expect(messages.at(-1)!.data).toEqual({ id });
    expect(await get(`/v1/jobs/${id}`)).toEqual({ status: 404, body: { error: { code: 'not_found', message: `job ${id} not found` } } });
    expect((await get(`/v1/jobs/${id}/result`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  // Killing one connection is a MySQL operation; SQLite has no connection to kill.
  if (target.name === 'mariadb')
    it('finishes a job whose database connection is killed in the middle of its last write', async () => {
      const own = await freshDatabase(target);
      const srv = await startTestServer({ SIGHTLINE_DATABASE_URL: own.url, SIGHTLINE_DATA_DIR: own.dataDir, SIGHTLINE_MODELS_DIR: repoDir });
      const admin = await createConnection(own.url);
      try {
        await srv.modelsLoaded;
        const res = await fetch(`${srv.url}/v1/jobs?model=slow`, { method: 'POST', body: await png([255, 0, 0]), headers: { 'content-type': 'image/png' } });
        const { id } = (await res.json()) as Json;
        await waitForJob(srv.url, id, 'running');
        // Hold the job's row, so the server's `succeeded` update waits on it; kill that connection while it waits.
        await admin.beginTransaction();
        await admin.query('select id from jobs where id = ? for update', [id]);
        const database = new URL(own.url).pathname.slice(1);
        let killed = 0;
        while (killed === 0) {
          const [rows] = await admin.query(
            "select id from information_schema.processlist where db = ? and info like 'update%jobs%' and id <> connection_id()",
            [database],
          );
          for (const row of rows as Array<{ id: number }>) {
            await admin.query(`kill ${Number(row.id)}`);
            killed += 1;
          }
          if (killed === 0) await new Promise((r) => setTimeout(r, 10));
        }
        await admin.rollback();
        const done = await waitForJob(srv.url, id, 'succeeded');
        expect(done.error).toBeNull();
        expect(((await (await fetch(`${srv.url}/v1/jobs/${id}/result`)).json()) as Answer<ClassifyAnswer>).label).toBe('red');
      } finally {
        await admin.end();
        await srv.close();
      }
    });

  it('finishes jobs left queued or running when a fresh server opens the same data', async () => {
    const own = await freshDatabase(target);
    const env = { SIGHTLINE_DATABASE_URL: own.url, SIGHTLINE_DATA_DIR: own.dataDir };
    const first = await startTestServer({ ...env, SIGHTLINE_MODELS_DIR: heldRepo, SIGHTLINE_JOB_CONCURRENCY: '1', SIGHTLINE_SHUTDOWN_TIMEOUT_MS: '200' });
    const colours: Array<[number, number, number]> = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const ids: string[] = [];
    try {
      await first.modelsLoaded;
      for (const rgb of colours) {
        const res = await fetch(`${first.url}/v1/jobs?model=cls`, { method: 'POST', body: await png(rgb), headers: { 'content-type': 'image/png' } });
        ids.push(((await res.json()) as Json).id);
      }
      await waitForJob(first.url, ids[0], 'running');
      const statuses = ((await (await fetch(`${first.url}/v1/jobs`)).json()) as Json).items.map((j: Json) => j.status);
      expect(statuses).toEqual(['queued', 'queued', 'running']);
    } finally {
      await first.close();
    }

    const second = await startTestServer({ ...env, SIGHTLINE_MODELS_DIR: repoDir });
    try {
      const results = [];
      for (const id of ids) {
        const job = await waitForJob(second.url, id, 'succeeded');
        expect(job.error).toBeNull();
        results.push(((await (await fetch(`${second.url}/v1/jobs/${id}/result`)).json()) as Json).label);
      }
      expect(results).toEqual(['red', 'green', 'blue']);
    } finally {
      await second.close();
    }
  });
});
