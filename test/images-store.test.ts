import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase, type DatabaseTarget, type TestDatabase } from './helpers/databases.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';
import { FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const blobPath = (server: Server, hash: string) => path.join(server.dataDir, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash);
const repo = () =>
  makeModelRepo({
    cls: { onnx: linearClassifier({ classes: 2 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green'], softmax: true } } },
  });

const post = (server: Server, route: string, body: Buffer | string, type: string) =>
  fetch(`${server.url}${route}`, { method: 'POST', headers: { 'content-type': type }, body });

describeEachDatabase('stored images: upload, predict by hash, delete', (target: DatabaseTarget) => {
  let server: Server;
  let db: TestDatabase;
  let red: Buffer;

  beforeAll(async () => {
    red = await solidImage('png', 12, 10, [255, 0, 0]);
    db = await target.create();
    server = await startTestServer({ SIGHTLINE_DATABASE_URL: db.url, SIGHTLINE_DATA_DIR: db.dataDir, SIGHTLINE_MODELS_DIR: repo() });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('takes a raw image, a multipart file and JSON base64, and answers what it stored', async () => {
    const expected = { sha256: sha(red), mediaType: 'image/png', width: 12, height: 10, bytes: red.byteLength };

    const raw = await post(server, '/v1/images', red, 'image/png');
    expect(raw.status).toBe(201);
    expect(raw.headers.get('location')).toBe(`/v1/images/${expected.sha256}`);
    expect(await raw.json()).toEqual(expected);
    expect(existsSync(blobPath(server, expected.sha256))).toBe(true);

    const form = new FormData();
    form.append('file', new Blob([red], { type: 'image/png' }), 'red.png');
    const multipart = await fetch(`${server.url}/v1/images`, { method: 'POST', body: form });
    expect(multipart.status).toBe(200);
    expect(await multipart.json()).toEqual(expected);

    const green = await solidImage('jpeg', 4, 6, [0, 255, 0]);
    const base64 = await post(server, '/v1/images', JSON.stringify({ image: green.toString('base64') }), 'application/json');
    expect(base64.status).toBe(201);
    expect(await base64.json()).toEqual({ sha256: sha(green), mediaType: 'image/jpeg', width: 4, height: 6, bytes: green.byteLength });

    const read = await fetch(`${server.url}/v1/images/${expected.sha256}`);
    expect(Buffer.from(await read.arrayBuffer()).equals(red)).toBe(true);

    // Predict on the stored image answers as predict on its bytes does.
    const byHash = (await (
      await post(server, '/v1/models/cls/predict', JSON.stringify({ imageSha256: expected.sha256.toUpperCase() }), 'application/json')
    ).json()) as Record<string, unknown>;
    const byBytes = (await (await post(server, '/v1/models/cls/predict', red, 'image/png')).json()) as Record<string, unknown>;
    const e = Math.E;
    expect(byHash).toMatchObject({ model: 'cls', label: 'red', width: 12, height: 10, batchSize: 1 });
    expect(byHash.probabilities).toEqual(byBytes.probabilities);
    expect((byHash.probabilities as Record<string, number>).red).toBeCloseTo(e / (e + 1), 6);
  });

  it('refuses what predict refuses, with the same statuses', async () => {
    const text = await post(server, '/v1/images', 'hello', 'application/octet-stream');
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    const truncated = await post(server, '/v1/images', red.subarray(0, red.byteLength - 20), 'image/png');
    expect(truncated.status).toBe(422);
    const two = new FormData();
    two.append('file', new Blob([red]), 'a.png');
    two.append('file', new Blob([red]), 'b.png');
    const many = await fetch(`${server.url}/v1/images`, { method: 'POST', body: two });
    expect(many.status).toBe(400);
    expect(await many.json()).toEqual({ error: { code: 'bad_request', message: 'one image per request', field: 'file' } });
    const unknown = await post(server, '/v1/models/cls/predict', JSON.stringify({ imageSha256: 'a'.repeat(64) }), 'application/json');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: `image ${'a'.repeat(64)} not found` } });
    const both = await post(server, '/v1/models/cls/predict', JSON.stringify({ image: red.toString('base64'), imageSha256: sha(red) }), 'application/json');
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: { message: string } }).error.message).toBe('imageSha256: send either "image" or "imageSha256", not both');
  });

  it('deletes an image nothing refers to, file included; 409 while a detection does; 404 once gone', async () => {
    const hash = sha(red);
    const posted = await post(
      server,
      '/v1/detections',
      JSON.stringify({ cameraId: 'gate-1', trackId: '7', label: 'car', confidence: 0.9, detectedAt: 1710028800000, imageSha256: hash }),
      'application/json',
    );
    expect(posted.status).toBe(201);
    const { id } = (await posted.json()) as { id: string };

    const refused = await fetch(`${server.url}/v1/images/${hash}`, { method: 'DELETE' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      error: { code: 'conflict', message: `image ${hash} is still referenced by a job or a detection; delete those first` },
    });
    expect(existsSync(blobPath(server, hash))).toBe(true);

    // Deleting the detection tells /v1/ws subscribers.
    const ws = await FrameClient.open(`${server.url.replace('http', 'ws')}/v1/ws`);
    ws.send({ type: 'subscribe', topics: ['detections', 'detections/gate-1'] });
    expect(await ws.next()).toEqual({ type: 'subscribed', topics: ['detections', 'detections/gate-1'] });
    expect((await fetch(`${server.url}/v1/detections/${id}`, { method: 'DELETE' })).status).toBe(204);
    const events = [await ws.next(), await ws.next()];
    expect(events).toEqual([
      { type: 'event', topic: 'detections', event: 'detection.deleted', data: { id, cameraId: 'gate-1' } },
      { type: 'event', topic: 'detections/gate-1', event: 'detection.deleted', data: { id, cameraId: 'gate-1' } },
    ]);
    expect((await fetch(`${server.url}/v1/detections/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await ws.unread()).toEqual([]);
    ws.close();

    const deleted = await fetch(`${server.url}/v1/images/${hash}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(existsSync(blobPath(server, hash))).toBe(false);
    expect((await fetch(`${server.url}/v1/images/${hash}`)).status).toBe(404);
    const again = await fetch(`${server.url}/v1/images/${hash}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toEqual({ error: { code: 'not_found', message: `image ${hash} not found` } });
  });
});

describe('stored images in the document', () => {
  let server: Server;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it('documents POST /v1/images and DELETE /v1/images/{sha256}, with who may call them', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { 'x-scope': string; responses: Record<string, unknown> }>>;
    };
    expect(doc.paths['/v1/images'].post['x-scope']).toBe('ingest');
    expect(Object.keys(doc.paths['/v1/images'].post.responses)).toEqual(expect.arrayContaining(['200', '201', '413', '415', '422']));
    expect(doc.paths['/v1/images/{sha256}'].delete['x-scope']).toBe('admin');
    expect(Object.keys(doc.paths['/v1/images/{sha256}'].delete.responses)).toEqual(expect.arrayContaining(['204', '404', '409']));
  });
});
