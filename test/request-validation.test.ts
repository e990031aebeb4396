import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

type Json = Record<string, any>;

const repoDir = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['r', 'g', 'b'] } } },
});

describe('request validation', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let jobId: string;
  let detectionId: string;
  let sha: string;

  beforeAll(async () => {
    server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
    await server.modelsLoaded;
    const png = await solidImage('png', 8, 8, [200, 0, 0]);
    const job = (await (
      await fetch(`${server.url}/v1/jobs?model=cls`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } })
    ).json()) as Json;
    jobId = job.id;
    const detection = (await (
      await fetch(`${server.url}/v1/detections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ cameraId: 'c', trackId: 't', label: 'car', confidence: 0.5, detectedAt: 0, image: png.toString('base64') }),
      })
    ).json()) as Json;
    detectionId = detection.id;
    sha = detection.imageSha256;
  });

  afterAll(async () => {
    await server?.close();
  });

  const call = async (method: string, path: string, body?: Buffer) => {
    const res = await fetch(`${server.url}${path}`, { method, ...(body ? { body, headers: { 'content-type': 'image/png' } } : {}) });
    return { status: res.status, body: (await res.json().catch(() => null)) as Json };
  };

  it('refuses an unknown query parameter on every route, including those that take none', async () => {
    const png = await solidImage('png', 8, 8, [0, 0, 200]);
    const routes: Array<[string, string, Buffer?]> = [
      ['GET', '/v1/models'],
      ['GET', '/v1/models/cls'],
      ['POST', '/v1/models/cls/load'],
      ['POST', '/v1/models/cls/unload'],
      ['POST', '/v1/models/cls/predict', png],
      ['GET', `/v1/images/${sha}`],
      ['POST', '/v1/jobs', png],
      ['GET', '/v1/jobs'],
      ['GET', `/v1/jobs/${jobId}`],
      ['GET', `/v1/jobs/${jobId}/result`],
      ['DELETE', `/v1/jobs/${jobId}`],
      ['GET', '/v1/detections'],
      ['GET', `/v1/detections/${detectionId}`],
      ['DELETE', `/v1/detections/${detectionId}`],
      ['GET', '/v1/stats'],
    ];
    for (const [method, path, body] of routes) {
      const answer = await call(method, `${path}?source=hub`, body);
      expect(answer, `${method} ${path}`).toEqual({
        status: 400,
        body: { error: { code: 'bad_request', message: 'source: unknown query parameter', field: 'source' } },
      });
    }
    // Nothing was done by the refused calls.
    expect((await call('GET', `/v1/jobs/${jobId}`)).status).toBe(200);
    expect((await call('GET', `/v1/detections/${detectionId}`)).status).toBe(200);
    expect((await call('GET', '/v1/models/cls')).body.state).toBe('ready');
  });

  it('names every bad field in one answer, and says which are missing', async () => {
    const query = await call('GET', '/v1/jobs?limit=0&status=done&bogus=1');
    expect(query.status).toBe(400);
    expect(query.body.error.field).toBe(query.body.error.fields[0].field);
    expect(query.body.error.fields.map((f: Json) => f.field).sort()).toEqual(['bogus', 'limit', 'status']);
    expect(query.body.error.message).toBe(query.body.error.fields.map((f: Json) => `${f.field}: ${f.message}`).join('; '));

    const res = await fetch(`${server.url}/v1/detections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        detections: [
          { cameraId: 'c', trackId: 't', label: 'car', confidence: 2, detectedAt: 0 },
          { cameraId: '', label: 'car', confidence: 0.5, detectedAt: 0, colour: 1 },
        ],
      }),
    });
    const body = (await res.json()) as Json;
    expect(res.status).toBe(400);
    // Every problem of the batch, in any order.
    expect(body.error.fields).toEqual(
      expect.arrayContaining([
        { field: 'detections[0].confidence', message: 'must be a number from 0 to 1' },
        { field: 'detections[1].colour', message: 'unknown field' },
        { field: 'detections[1].cameraId', message: 'must be a non-empty string of at most 255 characters' },
        { field: 'detections[1].trackId', message: 'missing: must be a non-empty string of at most 255 characters' },
      ]),
    );
    expect(body.error.fields).toHaveLength(4);
    expect(body.error.field).toBe(body.error.fields[0].field);
  });

  it('refuses a path parameter or a query value that is not percent-encoded UTF-8, and a query parameter given twice, with 400 naming it', async () => {
    for (const [target, field, message] of [
      ['/v1/models/%zz', 'name', 'is not valid percent-encoding'],
      ['/v1/models/x%4', 'name', 'is not valid percent-encoding'],
      ['/v1/jobs/%C3%28/result', 'id', 'is not UTF-8 once percent-decoded'],
      ['/v1/detections/%ED%A0%80', 'id', 'is not UTF-8 once percent-decoded'],
      ['/v1/images/%FF', 'sha256', 'is not UTF-8 once percent-decoded'],
      ['/ui/%', 'asset', 'is not valid percent-encoding'],
      ['/v1/jobs?model=%zz', 'model', 'is not valid percent-encoding'],
      ['/v1/jobs?model=a%', 'model', 'is not valid percent-encoding'],
      ['/v1/jobs?model=%C3%28', 'model', 'is not UTF-8 once percent-decoded'],
      ['/v1/jobs?model=%ED%A0%80', 'model', 'is not UTF-8 once percent-decoded'],
      ['/v1/jobs?limit=1&limit=2', 'limit', 'given more than once'],
    ]) {
      expect(await call('GET', target), target).toEqual({ status: 400, body: { error: { code: 'bad_request', message: `${field}: ${message}`, field } } });
    }
  });

  it('keeps 404 for a path with no route, whatever its escapes', async () => {
    expect((await call('GET', '/v1/nothing/%zz')).status).toBe(404);
  });

  it('names every problem of a query in one answer; valid escapes and + still decode', async () => {
    const both = await call('GET', '/v1/detections?label=car&label=truck&cameraId=%zz&limit=0');
    expect(both.body.error.fields).toEqual([
      { field: 'label', message: 'given more than once' },
      { field: 'cameraId', message: 'is not valid percent-encoding' },
      { field: 'limit', message: 'must be an integer from 1 to 1000' },
    ]);
    // Valid escapes and + still decode.
    expect((await call('GET', `/v1/detections?cameraId=${encodeURIComponent('模 cam')}&label=a+b&limit=%31`)).status).toBe(200);
  });
});
