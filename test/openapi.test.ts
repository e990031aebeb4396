import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { buildOpenApiDocument } from '../dist/src/http/openapi/document.js';
import { SchemaComponents } from '../dist/src/http/openapi/schema-components.js';
import { craftedPngHeader, solidImage, splitImage } from './helpers/images.js';
import { carPersonDetectorEntry, rawEntry, redGreenSegmentEntry, rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { segmentationProbability } from './helpers/onnx-model.js';
import { collectRefs, documentedResponses, HTTP_METHODS, openApiPath, resolvePointer, schemaErrors, type Json, type OpenApiDoc } from './helpers/openapi.js';
import { startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const square32 = { resize: 'stretch', width: 32, height: 32, colorOrder: 'RGB' };

let server: Server;
let doc: OpenApiDoc;
let check: ReturnType<typeof documentedResponses>;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  const repo = makeModelRepo({
    cls: rgbClassifierEntry({ softmax: true }),
    spare: rgbClassifierEntry(),
    // Jobs on this model wait in its queue for a while: long enough to ask for their result too early.
    slow: rgbClassifierEntry({ batching: { maxBatchSize: 64, maxQueueDelayMs: 3000, waitWhenIdle: true } }),
    det: carPersonDetectorEntry(),
    raw: rawEntry(),
    seg: redGreenSegmentEntry(32),
    text: { onnx: segmentationProbability({ inputShape: [3, 32, 32] }).bytes, manifest: { task: 'text-detect', input: square32 } },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  await server.modelsLoaded;
  doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDoc;
  check = documentedResponses(doc);
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await server?.close();
});

const mediaType = (res: Response) => (res.headers.get('content-type') ?? '').split(';')[0].trim();

/** Sends a request, reads the body as the response says (JSON, text or bytes), and checks it against the document. */
async function call(method: string, pattern: string, url: string, init: RequestInit = {}): Promise<{ res: Response; body: any }> {
  const res = await fetch(`${server.url}${url}`, { method, ...init });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const type = mediaType(res);
  const text = () => Buffer.from(bytes).toString('utf8');
  const body = type === 'application/json' ? JSON.parse(text()) : type.startsWith('text/') ? text() : bytes;
  check.expectDocumented(res, body, method, pattern);
  return { res, body };
}

const png = (rgb: [number, number, number], size = 8) => solidImage('png', size, size, rgb);
const asJson = (value: unknown): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
const asImage = (bytes: Buffer): RequestInit => ({ headers: { 'content-type': 'image/png' }, body: bytes });

async function waitForJob(id: string, status: string): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await call('GET', '/v1/jobs/:id', `/v1/jobs/${id}`);
    if (body.status === status) return body;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${body.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, item]) => HTTP_METHODS.filter((m) => item[m] !== undefined).map((m) => ({ path: p, method: m, op: item[m] })));

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 in shape: operations with ids, tags, parameters and responses', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe('sightline');
    expect(doc.info.version).toBe(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')).version);
    const tags = new Set((doc.tags as Json[]).map((t) => t.name));
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path: p, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${p}`;
      expect(p, where).toMatch(/^\//);
      expect(op.operationId, where).toMatch(/^[A-Za-z][A-Za-z0-9]*$/);
      expect(op.summary, where).toEqual(expect.any(String));
      expect(op.tags.length, where).toBeGreaterThan(0);
      for (const tag of op.tags) expect(tags.has(tag), `${where}: tag ${tag}`).toBe(true);
      const statuses = Object.keys(op.responses);
      expect(statuses.length, where).toBeGreaterThan(0);
      for (const status of statuses) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(op.responses[status].description, `${where} ${status}`).toEqual(expect.any(String));
      }
      // Every {name} of the path is a required path parameter, and there are no others.
      const inPath = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = (op.parameters ?? []) as Json[];
      expect(
        params
          .filter((q) => q.in === 'path')
          .map((q) => q.name)
          .sort(),
        where,
      ).toEqual([...inPath].sort());
      for (const q of params) {
        expect(['path', 'query', 'header'], where).toContain(q.in);
        if (q.in === 'path') expect(q.required, `${where} ${q.name}`).toBe(true);
      }
      if (op.requestBody) expect(Object.keys(op.requestBody.content).length, where).toBeGreaterThan(0);
      // Every error answer is the shared error shape; the Open Inference Protocol's routes answer in its own.
      const errorShape = p === '/v2' || p.startsWith('/v2/') ? 'InferenceError' : 'Error';
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        expect(op.responses[status].content['application/json'].schema, `${where} ${status}`).toEqual({ $ref: `#/components/schemas/${errorShape}` });
      }
    }
  });

  it('resolves every $ref it holds', () => {
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const { at, ref } of refs) expect(resolvePointer(doc, ref), `${at}: ${ref}`).toBeDefined();
    // Every named schema is used somewhere.
    const used = new Set(refs.map((r) => r.ref));
    for (const name of Object.keys(doc.components.schemas)) expect(used.has(`#/components/schemas/${name}`), name).toBe(true);
  });

  it('describes every route the server registered, with its method, and nothing else', () => {
    const registered = server.routes.map((r: { method: string; path: string }) => `${r.method} ${openApiPath(r.path)}`).sort();
    const documented = operations()
      .map(({ method, path: p }) => `${method.toUpperCase()} ${p}`)
      .sort();
    expect(documented).toEqual(registered);
    for (const { method, path: p, op } of operations()) expect(op['x-undocumented'], `${method} ${p}`).toBeUndefined();
    expect(registered).toEqual(
      expect.arrayContaining(['GET /openapi.json', 'GET /docs', 'GET /docs/{asset}', 'GET /v1/ws', 'GET /v1/ws/predict/{model}', 'GET /metrics']),
    );
  });

  it('says who may call each route, as the server enforces it', () => {
    for (const route of server.routes as Array<{ method: string; path: string; access: string }>) {
      const where = `${route.method} ${route.path}`;
      const op = doc.paths[openApiPath(route.path)][route.method.toLowerCase()];
      expect(op['x-scope'], where).toBe(route.access);
      const keyErrors = ['401', '403', '429'].filter((s) => op.responses[s] !== undefined);
      if (route.access === 'public') {
        expect([op.security, keyErrors], where).toEqual([[], []]);
      } else {
        const viaQuery = route.path.startsWith('/v1/ws') ? [{ ApiKeyQuery: [] }] : [];
        expect([op.security, keyErrors], where).toEqual([
          [{ ApiKey: [] }, { Bearer: [] }, ...viaQuery],
          ['401', '403', '429'],
        ]);
      }
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['ApiKey', 'Bearer', 'ApiKeyQuery']);
  });

  it('marks a route registered without a schema as undocumented, with its path parameters', () => {
    const built = buildOpenApiDocument([{ method: 'POST', path: '/x/:id', handler: () => ({ status: 204 }) }], '1.2.3') as OpenApiDoc;
    expect(built.paths['/x/{id}'].post).toEqual({
      summary: 'POST /x/:id',
      'x-undocumented': true,
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { default: { description: 'not described' } },
    });
    expect(built.info.version).toBe('1.2.3');
  });

  it('names a schema by its id once, and gives an input shape that differs from its output its own name', () => {
    const components = new SchemaComponents();
    const page = z.strictObject({ size: z.int().default(10) }).meta({ id: 'TestPage' });
    const holder = z.object({ a: page, b: page });
    expect(components.convert(holder, 'output')).toEqual({
      type: 'object',
      properties: { a: { $ref: '#/components/schemas/TestPage' }, b: { $ref: '#/components/schemas/TestPage' } },
      required: ['a', 'b'],
      additionalProperties: false,
    });
    expect(components.convert(page, 'input')).toEqual({ $ref: '#/components/schemas/TestPageInput' });
    expect(components.schemas.TestPage.required).toEqual(['size']);
    expect(components.schemas.TestPageInput.required).toBeUndefined();
    const other = z.strictObject({ n: z.string() }).meta({ id: 'TestPage' });
    expect(() => components.convert(other, 'output')).toThrow('OpenAPI: schema id "TestPage" names two different schemas');
  });

  it('documents each body form of predict: raw image, multipart files, JSON base64', () => {
    const op = doc.paths['/v1/models/{name}/predict'].post;
    expect(Object.keys(op.requestBody.content)).toEqual([
      'image/jpeg',
      'image/png',
      'image/webp',
      'image/gif',
      'image/tiff',
      'image/avif',
      'application/octet-stream',
      'multipart/form-data',
      'application/json',
    ]);
    const multipart = op.requestBody.content['multipart/form-data'].schema;
    expect(multipart.properties.file).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: server.config.maxFiles,
      items: { type: 'string', format: 'binary' },
    });
    const json = resolvePointer(doc, op.requestBody.content['application/json'].schema.$ref) as Json;
    expect(Object.keys(json.properties)).toEqual(['image', 'images', 'imageSha256']);
    expect(json.properties.images.maxItems).toBe(server.config.maxFiles);
    expect(json.oneOf).toEqual([{ required: ['image'] }, { required: ['images'] }, { required: ['imageSha256'] }]);
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '403', '404', '413', '415', '422', '429', '500', '503']);
  });

  it('documents the WebSocket protocols on their upgrade routes', () => {
    for (const [p, client, server] of [
      ['/v1/ws', 'SubscriberClientFrame', 'SubscriberServerFrame'],
      ['/v1/ws/predict/{model}', 'PredictClientFrame', 'PredictServerFrame'],
    ] as const) {
      const op = doc.paths[p].get;
      expect(Object.keys(op.responses)).toContain('101');
      expect(Object.keys(op.responses)).toContain('426');
      expect(op['x-websocket']).toEqual({
        client: { $ref: `#/components/schemas/${client}` },
        server: { $ref: `#/components/schemas/${server}` },
        closeCodes: {
          1001: 'the server is shutting down',
          1009: 'a frame over the size limit',
          4000: 'slow consumer: more than the backpressure limit queued for the client',
        },
      });
    }
  });

  it('validates with the schemas it documents: a response that breaks one is caught', () => {
    const job = {
      id: '0190b6c2-0000-7000-8000-000000000000',
      model: 'm',
      status: 'queued',
      imageSha256: 'a'.repeat(64),
      idempotencyKey: null,
      createdAt: 1,
      startedAt: null,
      finishedAt: null,
      attempts: 0,
      replica: null,
      error: null,
    };
    const ref = { $ref: '#/components/schemas/Job' };
    expect(schemaErrors(doc, ref, job)).toEqual([]);
    expect(schemaErrors(doc, ref, { ...job, status: 'done' })).toEqual(['$.status: "done" is not one of ["queued","running","succeeded","failed"]']);
    expect(schemaErrors(doc, ref, { ...job, extra: 1 })).toEqual(['$.extra: no value is allowed here']);
    expect(schemaErrors(doc, ref, { ...job, createdAt: 1.5 })).toEqual(['$.createdAt: expected integer, got number']);
    const { error, ...missing } = job;
    void error;
    expect(schemaErrors(doc, ref, missing)).toEqual(['$: missing error']);
  });
});

describe('request rules as documented are the rules enforced', () => {
  const listings = ['/v1/jobs', '/v1/detections', '/v1/stats', '/v1/evaluations'];

  it('refuses an unknown query parameter on every strict query, naming it', async () => {
    for (const p of listings) {
      const { res, body } = await call('GET', p, `${p}?colour=red`);
      expect(res.status, p).toBe(400);
      expect(body, p).toEqual({ error: { code: 'bad_request', message: 'colour: unknown query parameter', field: 'colour' } });
    }
  });

  it('enforces the documented bounds and choices of query parameters', async () => {
    let checked = 0;
    for (const p of listings) {
      for (const q of doc.paths[p].get.parameters as Json[]) {
        const schema = q.schema as Json;
        const cases: Array<[string, number]> = [];
        if (schema.type === 'integer') {
          cases.push([String(schema.minimum), 200], [String(schema.maximum), 200], [String(schema.maximum + 1), 400], ['x', 400]);
          if (schema.minimum > 0) cases.push([String(schema.minimum - 1), 400]);
        }
        if (schema.enum) cases.push(...(schema.enum as string[]).map((v): [string, number] => [v, 200]), ['nope', 400]);
        for (const [value, status] of cases) {
          const { res, body } = await call('GET', p, `${p}?${q.name}=${value}`);
          expect(res.status, `${p}?${q.name}=${value}`).toBe(status);
          if (status === 400) expect(body.error.field, `${p}?${q.name}=${value}`).toBe(q.name);
          checked++;
        }
      }
    }
    // limit (three times), latest, bucket, status: every bounded parameter of the listings.
    expect(checked).toBe(5 + 5 + 4 + 4 + 5 + 5);
  });
});

describe('every route answers as documented', () => {
  it('health probes', async () => {
    expect((await call('GET', '/health/live', '/health/live')).body).toEqual({ status: 'live' });
    expect((await call('GET', '/health/ready', '/health/ready')).body).toEqual({ status: 'ready' });
    expect((await call('GET', '/ping', '/ping')).body).toEqual({ message: 'Server is alive!', status: 'ok' });
  });

  it('models: list, detail, load, unload, 404', async () => {
    const list = await call('GET', '/v1/models', '/v1/models');
    expect(list.body.models.map((m: Json) => `${m.name}:${m.state}`)).toEqual([
      'cls:ready',
      'det:ready',
      'raw:ready',
      'seg:ready',
      'slow:ready',
      'spare:ready',
      'text:ready',
    ]);
    const detail = await call('GET', '/v1/models/:name', '/v1/models/cls');
    expect([detail.body.name, detail.body.task, detail.body.spec.batching.maxBatchSize]).toEqual(['cls', 'classify', 8]);
    expect((await call('GET', '/v1/models/:name', '/v1/models/nope')).res.status).toBe(404);
    const loaded = await call('POST', '/v1/models/:name/load', '/v1/models/spare/load');
    expect([loaded.res.status, loaded.body.state, loaded.body.version]).toEqual([200, 'ready', 2]);
    expect((await call('POST', '/v1/models/:name/load', '/v1/models/nope/load')).res.status).toBe(404);
    const unloaded = await call('POST', '/v1/models/:name/unload', '/v1/models/spare/unload');
    expect([unloaded.res.status, unloaded.body.state]).toEqual([200, 'unloaded']);
    expect((await call('POST', '/v1/models/:name/unload', '/v1/models/nope/unload')).res.status).toBe(404);
    // An unloaded model is not served.
    const refused = await call('POST', '/v1/models/:name/predict', '/v1/models/spare/predict', asImage(await png([255, 0, 0])));
    expect([refused.res.status, refused.body.error.code]).toEqual([503, 'model_unavailable']);
  });

  it('predict: every body form, and an answer of each task with a tiny model', async () => {
    const p = '/v1/models/:name/predict';
    const red = await png([255, 0, 0]);
    expect((await call('POST', p, '/v1/models/cls/predict', asImage(red))).body.label).toBe('red');
    const form = new FormData();
    form.append('file', new Blob([await png([0, 255, 0])], { type: 'image/png' }), 'g.png');
    form.append('file', new Blob([Buffer.from('not an image')], { type: 'image/png' }), 'x.png');
    const batch = await call('POST', p, '/v1/models/cls/predict', { body: form });
    expect(batch.body.results.map((r: Json) => r.label ?? r.error.code)).toEqual(['green', 'unsupported_media_type']);
    const json = await call(
      'POST',
      p,
      '/v1/models/cls/predict',
      asJson({ images: [red.toString('base64'), `data:image/png;base64,${(await png([0, 0, 255])).toString('base64')}`] }),
    );
    expect(json.body.results.map((r: Json) => r.label)).toEqual(['red', 'blue']);

    const scene = await solidImage('png', 64, 48, [40, 40, 40]);
    expect((await call('POST', p, '/v1/models/det/predict', asImage(scene))).body.detections.length).toBeGreaterThan(0);
    expect(Object.keys((await call('POST', p, '/v1/models/raw/predict', asImage(red))).body.outputs)).toEqual(['output']);
    const split = await splitImage('png', 32, 32, [255, 0, 0], [0, 255, 0]);
    expect((await call('POST', p, '/v1/models/seg/predict', asImage(split))).body.polygons.map((g: Json) => g.label).sort()).toEqual(['green', 'red']);
    const marked = await splitImage('png', 32, 32, [255, 255, 255], [0, 0, 0]);
    expect((await call('POST', p, '/v1/models/text/predict', asImage(marked))).body.regions.length).toBe(1);
  });

  it('predict errors: 400, 404, 405, 413, 415, 422 and a path with no route', async () => {
    const p = '/v1/models/:name/predict';
    const bad = await call('POST', p, '/v1/models/cls/predict', asJson({ image: '@@@' }));
    expect([bad.res.status, bad.body]).toEqual([400, { error: { code: 'bad_request', message: 'image: not valid base64', field: 'image' } }]);
    const both = await call('POST', p, '/v1/models/cls/predict', asJson({ image: 'AAAA', images: ['AAAA'] }));
    expect(both.body).toEqual({ error: { code: 'bad_request', message: 'images: send either "image" or "images", not both', field: 'images' } });
    expect((await call('POST', p, '/v1/models/nope/predict', asImage(await png([1, 2, 3])))).res.status).toBe(404);
    const bomb = await call('POST', p, '/v1/models/cls/predict', asImage(craftedPngHeader(30000, 30000)));
    expect([bomb.res.status, bomb.body.error.code]).toEqual([413, 'payload_too_large']);
    const text = await call('POST', p, '/v1/models/cls/predict', { headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect([text.res.status, text.body.error.code]).toEqual([415, 'unsupported_media_type']);
    // A PNG whose header reads but whose pixel data is cut short.
    const whole = await solidImage('png', 64, 64, [10, 200, 30]);
    const truncated = await call('POST', p, '/v1/models/cls/predict', asImage(whole.subarray(0, whole.length - 40)));
    expect([truncated.res.status, truncated.body.error.code]).toEqual([422, 'undecodable_image']);
    const wrongMethod = await call('PUT', '/v1/jobs', '/v1/jobs');
    expect([wrongMethod.res.status, wrongMethod.res.headers.get('allow')]).toEqual([405, 'POST, GET']);
    expect((await call('GET', '/nope', '/nope')).res.status).toBe(404);
  });

  it('jobs: submit in each form, idempotency, list, status, result, 409, delete', async () => {
    const img = await png([0, 0, 255]);
    const raw = await call('POST', '/v1/jobs', '/v1/jobs?model=cls', {
      ...asImage(img),
      headers: { 'content-type': 'image/png', 'idempotency-key': 'openapi-1' },
    });
    expect([raw.res.status, raw.body.status, raw.res.headers.get('location')]).toEqual([202, 'queued', `/v1/jobs/${raw.body.id}`]);
    const again = await call('POST', '/v1/jobs', '/v1/jobs?model=cls', {
      ...asImage(img),
      headers: { 'content-type': 'image/png', 'idempotency-key': 'openapi-1' },
    });
    expect([again.res.status, again.body.id]).toEqual([200, raw.body.id]);
    const form = new FormData();
    form.append('model', 'cls');
    form.append('file', new Blob([img], { type: 'image/png' }), 'b.png');
    expect((await call('POST', '/v1/jobs', '/v1/jobs', { body: form })).res.status).toBe(202);
    const done = await waitForJob(raw.body.id, 'succeeded');
    const byHash = await call('POST', '/v1/jobs', '/v1/jobs', asJson({ model: 'cls', imageSha256: done.imageSha256 }));
    expect(byHash.res.status).toBe(202);
    const badKey = await call('POST', '/v1/jobs', '/v1/jobs?model=cls', {
      ...asImage(img),
      headers: { 'content-type': 'image/png', 'idempotency-key': 'has space' },
    });
    expect(badKey.body).toEqual({
      error: { code: 'bad_request', message: 'Idempotency-Key: must be 1 to 255 visible ASCII characters', field: 'Idempotency-Key' },
    });

    const result = await call('GET', '/v1/jobs/:id/result', `/v1/jobs/${raw.body.id}/result`);
    expect([result.res.status, result.body.label]).toEqual([200, 'blue']);
    // Three jobs of cls exist by now: a page of one has a next page.
    const list = await call('GET', '/v1/jobs', '/v1/jobs?model=cls&limit=1');
    expect(list.body.items).toHaveLength(1);
    expect(list.body.nextCursor).toEqual(expect.any(String));
    const succeeded = await call('GET', '/v1/jobs', '/v1/jobs?model=cls&status=succeeded');
    expect(succeeded.body.items.map((j: Json) => j.id)).toContain(raw.body.id);

    const slow = await call('POST', '/v1/jobs', '/v1/jobs', asJson({ model: 'slow', image: img.toString('base64') }));
    const early = await call('GET', '/v1/jobs/:id/result', `/v1/jobs/${slow.body.id}/result`);
    expect([early.res.status, early.body.error.code]).toEqual([409, 'job_not_finished']);
    expect((await call('DELETE', '/v1/jobs/:id', `/v1/jobs/${slow.body.id}`)).res.status).toBe(204);
    expect((await call('GET', '/v1/jobs/:id', `/v1/jobs/${slow.body.id}`)).res.status).toBe(404);
    expect((await call('DELETE', '/v1/jobs/:id', `/v1/jobs/${slow.body.id}`)).res.status).toBe(404);
    expect((await call('GET', '/v1/jobs/:id/result', `/v1/jobs/${slow.body.id}/result`)).res.status).toBe(404);
  });

  it('detections, stats and stored images', async () => {
    const snapshot = await png([255, 0, 0]);
    const one = await call(
      'POST',
      '/v1/detections',
      '/v1/detections?verify=cls',
      asJson({
        cameraId: 'oa-1',
        trackId: 7,
        label: 'car',
        confidence: 0.5,
        box: [1, 2, 3, 4],
        detectedAt: '2024-03-10T08:00:00Z',
        image: snapshot.toString('base64'),
        meta: { lane: 2 },
      }),
    );
    expect([one.res.status, one.body.verify.label, one.res.headers.get('location')]).toEqual([201, 'red', `/v1/detections/${one.body.id}`]);
    const batch = await call(
      'POST',
      '/v1/detections',
      '/v1/detections',
      asJson({
        detections: [
          { cameraId: 'oa-1', trackId: 't', label: 'person', confidence: 1, detectedAt: 1710058000000 },
          { cameraId: 'oa-2', trackId: 't', label: 'car', confidence: 0, detectedAt: 1710058000001, imageSha256: one.body.imageSha256 },
        ],
      }),
    );
    expect([batch.res.status, batch.body.ids.length]).toEqual([201, 2]);
    const refused = await call('POST', '/v1/detections', '/v1/detections', asJson({ detections: [{ cameraId: 'oa-1' }] }));
    const text = 'must be a non-empty string of at most 255 characters';
    const missing = [
      { field: 'detections[0].trackId', message: `missing: ${text}` },
      { field: 'detections[0].label', message: `missing: ${text}` },
      { field: 'detections[0].confidence', message: 'missing: must be a number from 0 to 1' },
      { field: 'detections[0].detectedAt', message: 'missing: must be epoch milliseconds (a non-negative integer) or an ISO 8601 date-time with a zone' },
    ];
    expect(refused.body).toEqual({
      error: { code: 'bad_request', message: missing.map((m) => `${m.field}: ${m.message}`).join('; '), field: 'detections[0].trackId', fields: missing },
    });

    const got = await call('GET', '/v1/detections/:id', `/v1/detections/${one.body.id}`);
    expect([got.body.trackId, got.body.detectedAt, got.body.meta]).toEqual(['7', 1710057600000, { lane: 2 }]);
    const page = await call('GET', '/v1/detections', '/v1/detections?camera=oa-1&limit=1');
    expect([page.body.items.length, page.body.nextCursor === null]).toEqual([1, false]);
    const stats = await call('GET', '/v1/stats', '/v1/stats?cameraId=oa-1&bucket=day&latest=1');
    expect([stats.body.total, stats.body.byLabel, stats.body.latest.length]).toEqual([2, { car: 1, person: 1 }, 1]);

    const image = await call('GET', '/v1/images/:sha256', `/v1/images/${one.body.imageSha256.toUpperCase()}`);
    expect([image.res.status, mediaType(image.res), Buffer.from(image.body).equals(snapshot)]).toEqual([200, 'image/png', true]);
    const cached = await call('GET', '/v1/images/:sha256', `/v1/images/${one.body.imageSha256}`, {
      headers: { 'if-none-match': image.res.headers.get('etag')! },
    });
    expect(cached.res.status).toBe(304);
    const badHash = await call('GET', '/v1/images/:sha256', '/v1/images/xyz');
    expect(badHash.body).toEqual({ error: { code: 'bad_request', message: 'sha256: must be a SHA-256 hash: 64 hexadecimal digits', field: 'sha256' } });
    expect((await call('GET', '/v1/images/:sha256', `/v1/images/${'0'.repeat(64)}`)).res.status).toBe(404);
    const other = await png([0, 0, 255], 5);
    const uploaded = await call('POST', '/v1/images', '/v1/images', asImage(other));
    expect([uploaded.res.status, uploaded.body.mediaType, uploaded.body.width, uploaded.body.bytes]).toEqual([201, 'image/png', 5, other.byteLength]);
    expect((await call('POST', '/v1/images', '/v1/images', asJson({ image: other.toString('base64') }))).res.status).toBe(200);
    expect((await call('POST', '/v1/images', '/v1/images', asImage(Buffer.from('not an image')))).res.status).toBe(415);
    expect((await call('DELETE', '/v1/images/:sha256', `/v1/images/${one.body.imageSha256}`)).res.status).toBe(409);
    expect((await call('DELETE', '/v1/images/:sha256', `/v1/images/${uploaded.body.sha256}`)).res.status).toBe(204);
    expect((await call('DELETE', '/v1/images/:sha256', `/v1/images/${uploaded.body.sha256}`)).res.status).toBe(404);

    expect((await call('DELETE', '/v1/detections/:id', `/v1/detections/${one.body.id}`)).res.status).toBe(204);
    expect((await call('GET', '/v1/detections/:id', `/v1/detections/${one.body.id}`)).res.status).toBe(404);
    expect((await call('DELETE', '/v1/detections/:id', `/v1/detections/${one.body.id}`)).res.status).toBe(404);
  });

  it('WebSocket routes: 426 over plain HTTP, and frames that match x-websocket over a socket', async () => {
    expect((await call('GET', '/v1/ws', '/v1/ws')).res.status).toBe(426);
    expect((await call('GET', '/v1/ws/predict/:model', '/v1/ws/predict/cls')).res.status).toBe(426);
    const frameSchema = (p: string, side: 'client' | 'server') => doc.paths[p].get['x-websocket'][side];
    const open = async (url: string) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}${url}`);
      sockets.push(ws);
      const frames: Json[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(frameText(data))));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const next = async (count: number) => {
        const deadline = Date.now() + 10_000;
        while (frames.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        return frames[count - 1];
      };
      return { ws, next };
    };

    const events = await open('/v1/ws');
    const subscribe = { type: 'subscribe', topics: ['detections/oa-ws', 'detections/oa-quiet'] };
    expect(schemaErrors(doc, frameSchema('/v1/ws', 'client'), subscribe)).toEqual([]);
    events.ws.send(JSON.stringify(subscribe));
    expect(await events.next(1)).toEqual({ type: 'subscribed', topics: ['detections/oa-ws', 'detections/oa-quiet'] });
    await call('POST', '/v1/detections', '/v1/detections', asJson({ cameraId: 'oa-ws', trackId: '1', label: 'car', confidence: 0.5, detectedAt: 1 }));
    expect((await events.next(2)).event).toBe('detection.created');
    events.ws.send('{"type":"shout"}');
    expect((await events.next(3)).code).toBe('bad_message');
    for (const frame of [await events.next(1), await events.next(2), await events.next(3)]) {
      expect(schemaErrors(doc, frameSchema('/v1/ws', 'server'), frame), JSON.stringify(frame)).toEqual([]);
    }

    const predict = await open('/v1/ws/predict/cls');
    expect(schemaErrors(doc, frameSchema('/v1/ws/predict/{model}', 'client'), { id: 'r1' })).toEqual([]);
    predict.ws.send(JSON.stringify({ id: 'r1' }));
    predict.ws.send(await png([0, 255, 0]));
    predict.ws.send(Buffer.from('not an image'));
    const answers = [await predict.next(1), await predict.next(2)].sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(answers.map((a) => [a.type, a.id])).toEqual([
      ['error', 2],
      ['result', 'r1'],
    ]);
    for (const frame of answers) expect(schemaErrors(doc, frameSchema('/v1/ws/predict/{model}', 'server'), frame), JSON.stringify(frame)).toEqual([]);
  });

  it('evaluations: start on a folder, progress and report, list, datasets, delete, errors', async () => {
    for (const [label, rgb] of [
      ['red', [255, 0, 0]],
      ['green', [0, 255, 0]],
    ] as const) {
      mkdirSync(path.join(server.config.datasetsDir, 'colours', label), { recursive: true });
      writeFileSync(path.join(server.config.datasetsDir, 'colours', label, '1.png'), await png([...rgb]));
    }
    expect((await call('GET', '/v1/datasets', '/v1/datasets')).body).toEqual({ items: [{ name: 'colours' }] });
    const started = await call('POST', '/v1/models/:name/evaluate', '/v1/models/cls/evaluate', asJson({ dataset: 'colours' }));
    expect(started.res.status).toBe(202);
    let evaluation: Json = {};
    for (let i = 0; i < 200 && evaluation.status !== 'succeeded'; i++) {
      evaluation = (await call('GET', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).body;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(evaluation).toMatchObject({ status: 'succeeded', done: 2, summary: { accuracy: 1 } });
    expect((await call('GET', '/v1/evaluations', '/v1/evaluations?model=cls&limit=1')).body.items).toHaveLength(1);
    expect((await call('POST', '/v1/models/:name/evaluate', '/v1/models/det/evaluate', asJson({ dataset: 'colours' }))).res.status).toBe(400);
    expect((await call('POST', '/v1/models/:name/evaluate', '/v1/models/cls/evaluate', asJson({ dataset: 'gone' }))).res.status).toBe(404);
    const plain = { headers: { 'content-type': 'text/plain' }, body: 'x' };
    expect((await call('POST', '/v1/models/:name/evaluate', '/v1/models/cls/evaluate', plain)).res.status).toBe(415);
    expect((await call('DELETE', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(204);
    expect((await call('GET', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(404);
  });

  it('metrics, the console, and the reference itself', async () => {
    expect((await call('GET', '/metrics', '/metrics')).body).toContain('# TYPE');
    expect((await call('GET', '/', '/')).body).toContain('<!doctype html>');
    expect((await call('GET', '/console', '/console')).body).toContain('<!doctype html>');
    expect((await call('GET', '/ui/:asset', '/ui/app.js')).res.status).toBe(200);
    expect((await call('GET', '/ui/:asset', '/ui/nope.js')).res.status).toBe(404);
    const self = await call('GET', '/openapi.json', '/openapi.json');
    expect(self.body).toEqual(doc);
    expect((await call('GET', '/openapi.json', '/openapi.json', { headers: { 'if-none-match': self.res.headers.get('etag')! } })).res.status).toBe(304);
    expect((await call('GET', '/docs', '/docs')).res.status).toBe(200);
    expect((await call('GET', '/docs/:asset', '/docs/swagger-ui.css')).res.status).toBe(200);
    expect((await call('GET', '/docs/:asset', '/docs/swagger-initializer.js')).res.status).toBe(404);
  });

  it('the Open Inference Protocol under /v2: metadata, health, inference in both forms, statistics, repository', async () => {
    expect((await call('GET', '/v2', '/v2')).body.extensions).toContain('binary_tensor_data');
    expect((await call('GET', '/v2/health/live', '/v2/health/live')).body).toEqual({ live: true });
    expect((await call('GET', '/v2/health/ready', '/v2/health/ready')).res.status).toBe(200);
    const meta = await call('GET', '/v2/models/:name', '/v2/models/cls');
    expect(meta.body.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 3, 8, 8] }]);
    const version = meta.body.versions[0] as string;
    expect((await call('GET', '/v2/models/:name/versions/:version', `/v2/models/cls/versions/${version}`)).body.platform).toBe('onnx_onnxv1');
    expect((await call('GET', '/v2/models/:name', '/v2/models/nope')).res.status).toBe(404);
    expect((await call('GET', '/v2/models/:name/ready', '/v2/models/cls/ready')).body).toEqual({ name: 'cls', ready: true });
    expect((await call('GET', '/v2/models/:name/config', '/v2/models/cls/config')).body.input).toEqual([
      { name: 'input', data_type: 'TYPE_FP32', dims: [3, 8, 8] },
    ]);
    expect((await call('GET', '/v2/models/:name/versions/:version/config', '/v2/models/cls/versions/99/config')).res.status).toBe(404);
    expect((await call('GET', '/v2/models/:name/versions/:version/ready', '/v2/models/cls/versions/99/ready')).res.status).toBe(404);
    const tensor = { name: 'input', shape: [1, 3, 8, 8], datatype: 'FP32', data: Array(192).fill(0.5) };
    const answer = await call('POST', '/v2/models/:name/infer', '/v2/models/cls/infer', asJson({ id: 'a', inputs: [tensor] }));
    expect(answer.body).toMatchObject({ model_name: 'cls', id: 'a', outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 3] }] });
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ ...tensor, data: undefined, parameters: { binary_data_size: 768 } }], parameters: { binary_data_output: true } }),
    );
    const binary = await call('POST', '/v2/models/:name/versions/:version/infer', `/v2/models/cls/versions/${version}/infer`, {
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) },
      body: Buffer.concat([header, Buffer.from(new Float32Array(192).fill(0.5).buffer)]),
    });
    expect(binary.res.headers.get('inference-header-content-length')).toEqual(expect.stringMatching(/^\d+$/));
    const image = await call(
      'POST',
      '/v2/models/:name/infer',
      '/v2/models/cls/infer',
      asJson({ inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [(await png([255, 0, 0])).toString('base64')] }] }),
    );
    expect(JSON.parse(image.body.outputs[0].data[0]).label).toBe('red');
    expect(
      (await call('POST', '/v2/models/:name/infer', '/v2/models/cls/infer', asJson({ inputs: [{ ...tensor, datatype: 'INT32', data: Array(192).fill(1) }] })))
        .body.error,
    ).toContain("data-type is 'INT32'");
    expect((await call('POST', '/v2/models/:name/infer', '/v2/models/nope/infer', asJson({ inputs: [tensor] }))).res.status).toBe(404);
    expect((await call('GET', '/v2/models/stats', '/v2/models/stats')).body.model_stats.length).toBeGreaterThan(0);
    expect((await call('GET', '/v2/models/:name/stats', '/v2/models/cls/stats')).body.model_stats[0].inference_count).toBeGreaterThan(0);
    expect((await call('GET', '/v2/models/:name/versions/:version/stats', `/v2/models/cls/versions/${version}/stats`)).body.model_stats[0].name).toBe('cls');
    expect((await call('POST', '/v2/repository/index', '/v2/repository/index')).body.map((m: Json) => m.name)).toContain('cls');
    expect((await call('POST', '/v2/repository/models/:name/unload', '/v2/repository/models/raw/unload')).res.status).toBe(200);
    expect((await call('GET', '/v2/models/:name/ready', '/v2/models/raw/ready')).res.status).toBe(503);
    expect((await call('POST', '/v2/repository/models/:name/load', '/v2/repository/models/raw/load')).res.status).toBe(200);
    expect((await call('POST', '/v2/repository/models/:name/load', '/v2/repository/models/nope/load')).res.status).toBe(404);
  });

  it('exercised every registered route', () => {
    const registered = server.routes.map((r: { method: string; path: string }) => `${r.method} ${openApiPath(r.path)}`);
    expect(registered.filter((r: string) => !check.seen.has(r))).toEqual([]);
  });
});

describe('/docs', () => {
  const swaggerDir = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

  it('serves its page with a strict policy, pointing only at files it serves, with their content types', async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual([
      '/docs/swagger-ui.css',
      '/docs/index.css',
      '/docs/favicon-32x32.png',
      '/docs/favicon-16x16.png',
      '/docs/swagger-ui-bundle.js',
      '/docs/swagger-ui-standalone-preset.js',
      '/docs/reference.js',
    ]);
    const types: Record<string, string> = { css: 'text/css; charset=utf-8', png: 'image/png', js: 'text/javascript; charset=utf-8' };
    for (const url of urls) {
      const asset = await fetch(`${server.url}${url}`);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get('content-type'), url).toBe(types[url.split('.').pop()!]);
      const body = Buffer.from(await asset.arrayBuffer());
      if (url !== '/docs/reference.js') expect(body.equals(readFileSync(path.join(swaggerDir, path.basename(url)))), url).toBe(true);
      else expect(body.toString()).toContain("url: '/openapi.json'");
    }
  });

  it('revalidates with ETags and serves nothing else from the package', async () => {
    const first = await fetch(`${server.url}/docs/swagger-ui-bundle.js`);
    await first.arrayBuffer();
    const again = await fetch(`${server.url}/docs/swagger-ui-bundle.js`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    for (const name of ['package.json', 'index.html', 'swagger-ui-bundle.js.map', '..%2Fpackage.json']) {
      const res = await fetch(`${server.url}/docs/${name}`);
      expect(res.status, name).toBe(404);
      await res.arrayBuffer();
    }
  });
});
