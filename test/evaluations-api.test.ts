import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { writeTar } from '../dist/src/evaluation/archive-tar.js';
import { greyPng, writeZip } from './helpers/archives.js';
import { solidImage, splitImage } from './helpers/images.js';
import { carPersonDetectorEntry, rawEntry, redGreenSegmentEntry, rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import type { DatasetListAnswer, ErrorAnswer, EvaluationAnswer, EvaluationPageAnswer, SubmittedEvaluationAnswer } from './helpers/answers.js';
import { reportOf } from './helpers/evaluations.js';
import { documentedResponses, type OpenApiDoc } from './helpers/openapi.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
/** A frame of /v1/ws, as far as these tests read it. */
interface Frame {
  type: string;
  topic?: string;
  topics?: string[];
  event?: string;
  data: { id: string; status?: string };
}

const RED: [number, number, number] = [255, 0, 0];
const GREEN: [number, number, number] = [0, 255, 0];
const BLUE: [number, number, number] = [0, 0, 255];

let server: Server;
let datasets: string;
let doc: OpenApiDoc;
let check: ReturnType<typeof documentedResponses>;

/** The classify set as files: 3 red + 1 green under red/ (one mistake), 2 green, 1 blue, an unknown label and a broken image. */
async function classifyFiles(): Promise<Array<{ path: string; bytes: Buffer }>> {
  const png = (rgb: [number, number, number], size = 8) => solidImage('png', size, size, rgb);
  return [
    { path: 'red/1.png', bytes: await png(RED) },
    { path: 'red/2.png', bytes: await png(RED, 9) },
    { path: 'red/3.jpg', bytes: await solidImage('jpeg', 8, 8, RED) },
    { path: 'red/odd.png', bytes: await png(GREEN) },
    { path: 'green/1.png', bytes: await png(GREEN) },
    { path: 'green/2.png', bytes: await png(GREEN, 12) },
    { path: 'blue/1.png', bytes: await png(BLUE) },
    { path: 'blue/broken.png', bytes: Buffer.from('this is not a PNG') },
    { path: 'purple/1.png', bytes: await png(BLUE) },
  ];
}

function writeDataset(name: string, files: Array<{ path: string; bytes: Buffer | string }>): void {
  for (const f of files) {
    const full = path.join(datasets, name, f.path);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, f.bytes);
  }
}

const DETECTIONS_GT = {
  images: [
    { id: 1, file_name: 'one.png', width: 64, height: 64 },
    { id: 2, file_name: 'two.png', width: 64, height: 64 },
  ],
  annotations: [
    { image_id: 1, category_id: 1, bbox: [10, 10, 20, 20] },
    { image_id: 1, category_id: 2, bbox: [40, 42, 16, 12] },
    { image_id: 2, category_id: 1, bbox: [10, 10, 20, 20] },
    { image_id: 2, category_id: 2, bbox: [60, 60, 10, 10] }, // outside the 64×64 image: reported, left out
  ],
  categories: [
    { id: 1, name: 'car' },
    { id: 2, name: 'person' },
  ],
};

beforeAll(async () => {
  const repo = makeModelRepo({
    cls: rgbClassifierEntry({ softmax: true }),
    // Every partial batch waits 400 ms: an evaluation of it lasts long enough to watch.
    slow: rgbClassifierEntry({ batching: { maxBatchSize: 64, maxQueueDelayMs: 400, waitWhenIdle: true } }),
    det: carPersonDetectorEntry(),
    seg: redGreenSegmentEntry(32),
    raw: rawEntry(),
  });
  datasets = mkdtempSync(path.join(os.tmpdir(), 'sightline-datasets-'));
  writeDataset('colours', await classifyFiles());
  const black = await solidImage('png', 64, 64, [0, 0, 0]);
  writeDataset('cars', [
    { path: 'annotations.json', bytes: JSON.stringify(DETECTIONS_GT) },
    { path: 'one.png', bytes: black },
    { path: 'images/two.png', bytes: black },
  ]);
  // Left half red, right half black: the model labels the left 16 columns red; the mask says 17.
  const truth = new Uint8Array(32 * 32);
  for (let y = 0; y < 32; y++) for (let x = 0; x <= 16; x++) truth[y * 32 + x] = 1;
  writeDataset('halves', [
    { path: 'images/a.png', bytes: await splitImage('png', 32, 32, RED, [0, 0, 0]) },
    { path: 'masks/a.png', bytes: await greyPng(truth, 32, 32) },
  ]);
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATASETS_DIR: datasets });
  await server.modelsLoaded;
  doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDoc;
  check = documentedResponses(doc);
});
afterAll(async () => {
  await server?.close();
});

/** Sends a request and checks the answer against the document; `T` is the answer documented for the status expected. */
async function call<T = ErrorAnswer>(method: string, pattern: string, url: string, init: RequestInit = {}): Promise<{ res: Response; body: T }> {
  const res = await fetch(`${server.url}${url}`, { method, ...init });
  const text = await res.text();
  const body = (text === '' ? undefined : JSON.parse(text)) as T;
  check.expectDocumented(res, body, method, pattern);
  return { res, body };
}

const asJson = (value: unknown): RequestInit => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

async function finished(id: string): Promise<EvaluationAnswer> {
  for (let i = 0; i < 400; i++) {
    const { body } = await call<EvaluationAnswer>('GET', '/v1/evaluations/:id', `/v1/evaluations/${id}`);
    if (body.status === 'succeeded' || body.status === 'failed') return body;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`evaluation ${id} did not finish`);
}

/** The classify report the colours set must give, however it was sent. */
function expectColoursReport(e: EvaluationAnswer): void {
  expect(e).toMatchObject({ status: 'succeeded', model: 'cls', task: 'classify', layout: 'imagefolder', done: 8, total: 8, problems: 2, error: null });
  const r = reportOf(e, 'classify');
  expect(r.metrics.confusion).toEqual({
    labels: ['red', 'green', 'blue'],
    matrix: [
      [3, 1, 0],
      [0, 2, 0],
      [0, 0, 1],
    ],
  });
  expect(r.metrics.accuracy).toBe(6 / 7);
  expect(r.metrics.perClass.map((c) => [c.label, c.support, c.precision, c.recall])).toEqual([
    ['red', 4, 1, 0.75],
    ['green', 2, 2 / 3, 1],
    ['blue', 1, 1, 1],
  ]);
  expect(r.metrics.topK).toEqual([
    { k: 1, accuracy: 6 / 7 },
    { k: 3, accuracy: 1 },
  ]);
  expect(r.metrics.binary).toBeNull();
  expect(r.metrics.misclassified).toEqual([{ file: 'red/odd.png', truth: 'red', predicted: 'green', confidence: expect.any(Number) }]);
  expect(r.images).toEqual({ total: 8, evaluated: 7, leftOut: 1 });
  expect(r.problems.count).toBe(2);
  expect(r.problems.listed).toEqual([
    { file: 'purple/1.png', message: 'label "purple" is not one of the model\'s labels ("red", "green", "blue")' },
    { file: 'blue/broken.png', message: expect.stringMatching(/^unreadable image: not a recognised image/) },
  ]);
  expect(r.model).toMatchObject({ name: 'cls', task: 'classify', version: 1, versionAtEnd: 1, reloaded: false });
  expect(r.timing.imagesPerSecond).toBeGreaterThan(0);
  expect(r.timing.latencyMs.p50).toBeGreaterThan(0);
  expect(r.timing.latencyMs.p99).toBeGreaterThanOrEqual(r.timing.latencyMs.p50!);
  expect(e.summary).toMatchObject({ accuracy: 6 / 7, top3Accuracy: 1, evaluated: 7 });
}

describe('evaluations over HTTP and WebSocket', () => {
  it('a folder: 202, progress on the WebSocket topic, the stored report, listing and delete', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    const frames: Frame[] = [];
    ws.on('message', (m: Buffer) => frames.push(JSON.parse(m.toString('utf8')) as Frame));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'evaluations' }));
    await new Promise((r) => setTimeout(r, 50));

    const started = await call<SubmittedEvaluationAnswer>(
      'POST',
      '/v1/models/:name/evaluate',
      '/v1/models/cls/evaluate',
      asJson({ dataset: 'colours', topK: [1, 5] }),
    );
    expect(started.res.status).toBe(202);
    expect(started.res.headers.get('location')).toBe(`/v1/evaluations/${started.body.id}`);
    const e = await finished(started.body.id);
    expectColoursReport(e);
    expect(reportOf(e, 'classify').dataset).toEqual({ name: 'colours', source: 'folder', layout: 'imagefolder', files: 9, samples: 8 });

    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    const events = frames.filter((f) => f.type === 'event' && f.data.id === started.body.id);
    const states = events.filter((f) => f.event === 'evaluation.updated').map((f) => f.data.status);
    expect(states).toEqual(['queued', 'running', 'succeeded']);
    const progress = events.filter((f) => f.event === 'evaluation.progress');
    expect(progress.at(-1)!.data).toEqual({ id: started.body.id, done: 8, total: 8, problems: 2 });
    expect(events.every((f) => f.topic === 'evaluations')).toBe(true);

    const list = await call<EvaluationPageAnswer>('GET', '/v1/evaluations', '/v1/evaluations?model=cls');
    expect(list.body.items.map((i) => i.id)).toContain(started.body.id);
    expect(list.body.items[0]).not.toHaveProperty('report');
    expect((await call<EvaluationPageAnswer>('GET', '/v1/evaluations', '/v1/evaluations?model=det')).body.items).toEqual([]);
    expect((await call('DELETE', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(204);
    expect((await call('GET', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(404);
    expect((await call('DELETE', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(404);
  });

  it('uploads: a tar, a gzip-compressed tar, a zip and multipart files give the same report', async () => {
    const files = await classifyFiles();
    const tar = writeTar(files.map((f) => ({ path: `colours/${f.path}`, bytes: f.bytes })));
    const { gzipSync } = await import('node:zlib');
    const bodies: Array<[string, Buffer | FormData, string]> = [
      ['application/x-tar', tar, 'colours'],
      ['application/gzip', gzipSync(tar), 'colours'],
      ['application/zip', writeZip(files.map((f, i) => ({ ...f, stored: i % 2 === 0 }))), 'upload'],
    ];
    const form = new FormData();
    for (const f of files) form.append('files', new Blob([f.bytes]), f.path);
    form.append('name', 'from-form');
    bodies.push(['', form, 'from-form']);
    for (const [type, body, name] of bodies) {
      const init: RequestInit = type === '' ? { body: body as FormData } : { headers: { 'content-type': type }, body: body as Buffer };
      const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/cls/evaluate?topK=1,3', init);
      expect(started.res.status, type).toBe(202);
      const e = await finished(started.body.id);
      expectColoursReport(e);
      expect(e.dataset, type).toBe(name);
      expect(reportOf(e, 'classify').dataset.source).toBe('upload');
    }
  });

  it('detect: COCO boxes against the model, mAP and per-class AP exact; a box outside the image reported', async () => {
    const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/det/evaluate', asJson({ dataset: 'cars' }));
    const e = await finished(started.body.id);
    expect(e).toMatchObject({ status: 'succeeded', task: 'detect', layout: 'coco', done: 2, total: 2, problems: 1 });
    const m = reportOf(e, 'detect').metrics;
    // Each image answers car [10,10,30,30] 0.9, person [11,10,31,30] 0.7, person [40,42,56,54] 0.6.
    const [car, person] = m.perClass;
    expect([car.ap50, car.ap, car.precision, car.recall]).toEqual([1, 1, 1, 1]);
    // Person: F, F, T, F over one box → precision 1/3 at every recall level.
    expect(person.ap50).toBeCloseTo(1 / 3, 12);
    expect(person.ap).toBeCloseTo(1 / 3, 12);
    expect([person.groundTruth, person.detections, person.precision, person.recall]).toEqual([1, 4, 0.25, 1]);
    expect(m.map50).toBeCloseTo(2 / 3, 12);
    expect(m.map).toBeCloseTo(2 / 3, 12);
    expect([m.truePositives, m.detections, m.groundTruth, m.precision, m.recall]).toEqual([3, 6, 3, 0.5, 1]);
    expect(reportOf(e, 'detect').problems.listed).toEqual([
      { file: 'images/two.png', message: 'annotations[3]: box [60, 60, 10, 10] is empty or outside the 64×64 image' },
    ]);
    expect(e.summary).toMatchObject({ map50: m.map50, map: m.map });
  });

  it('detect: YOLO labels in a zip give the same figures', async () => {
    const black = await solidImage('png', 64, 64, [0, 0, 0]);
    const n = (v: number) => v / 64;
    const zip = writeZip([
      { path: 'classes.txt', bytes: Buffer.from('car\nperson\n') },
      { path: 'images/one.png', bytes: black },
      { path: 'labels/one.txt', bytes: Buffer.from(`0 ${n(20)} ${n(20)} ${n(20)} ${n(20)}\n1 ${n(48)} ${n(48)} ${n(16)} ${n(12)}\n`) },
      { path: 'images/two.png', bytes: black },
      { path: 'labels/two.txt', bytes: Buffer.from(`0 ${n(20)} ${n(20)} ${n(20)} ${n(20)}\n`) },
    ]);
    const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/det/evaluate?name=yolo-set', {
      headers: { 'content-type': 'application/zip' },
      body: zip,
    });
    const e = await finished(started.body.id);
    expect(e).toMatchObject({ status: 'succeeded', layout: 'yolo', dataset: 'yolo-set', problems: 0 });
    expect(reportOf(e, 'detect').metrics.map50).toBeCloseTo(2 / 3, 12);
    expect(reportOf(e, 'detect').metrics.map).toBeCloseTo(2 / 3, 12);
  });

  it('segment: polygons back to pixels against a PNG mask, per-class IoU exact', async () => {
    const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/seg/evaluate', asJson({ dataset: 'halves' }));
    const e = await finished(started.body.id);
    expect(e).toMatchObject({ status: 'succeeded', task: 'segment', layout: 'masks', done: 1, problems: 0 });
    const m = reportOf(e, 'segment').metrics;
    expect(m.perClass.map((c) => [c.label, c.truthPixels, c.predictedPixels, c.intersection, c.iou])).toEqual([
      ['background', 15 * 32, 16 * 32, 15 * 32, 15 / 16],
      ['red', 17 * 32, 16 * 32, 16 * 32, 16 / 17],
      ['green', 0, 0, 0, null],
    ]);
    expect(m.meanIou).toBeCloseTo((15 / 16 + 16 / 17) / 2, 12);
    expect(m.pixelAccuracy).toBe(31 / 32);
  });

  it('lists the dataset folders', async () => {
    const { body } = await call<DatasetListAnswer>('GET', '/v1/datasets', '/v1/datasets');
    expect(body).toEqual({ items: [{ name: 'cars' }, { name: 'colours' }, { name: 'halves' }] });
  });

  it('refuses what it cannot evaluate with the right status', async () => {
    const post = (url: string, init: RequestInit) => call('POST', '/v1/models/:name/evaluate', url, init);
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/v1/models/nope/evaluate', asJson({ dataset: 'colours' }), 404, 'model "nope" not found'],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'missing' }), 404, 'dataset missing not found'],
      [
        '/v1/models/cls/evaluate',
        asJson({ dataset: '../etc' }),
        400,
        'dataset: must name a folder directly under the datasets directory (letters, digits, ".", "_", "-"; not starting with ".")',
      ],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'cars' }), 400, "dataset cars is laid out as coco (detect), but the model's task is classify"],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'colours', layout: 'csv' }), 400, 'layout csv: the dataset has no CSV file at its top level'],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'colours', positiveLabel: 'pink' }), 400, 'positiveLabel: "pink" is not one of the model\'s labels'],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'colours', topK: [0] }), 400, 'topK[0]: must be 1 to 10 integers from 1 to 100'],
      ['/v1/models/cls/evaluate', asJson({ dataset: 'colours', colour: 1 }), 400, 'colour: unknown field'],
      [
        '/v1/models/raw/evaluate',
        asJson({ dataset: 'colours' }),
        400,
        'model raw is a raw model; evaluation covers classify, text-recognize, detect, segment models',
      ],
      ['/v1/models/cls/evaluate', { headers: { 'content-type': 'text/plain' }, body: 'x' }, 415, 'expected application/json naming a dataset folder'],
      [
        '/v1/models/cls/evaluate',
        { headers: { 'content-type': 'application/x-tar' }, body: Buffer.alloc(1024, 7) },
        400,
        'upload: tar: bad header checksum at byte 0',
      ],
      [
        '/v1/models/cls/evaluate',
        { headers: { 'content-type': 'application/zip' }, body: Buffer.from('PK nothing') },
        400,
        'upload: zip: no end-of-central-directory record',
      ],
      [
        '/v1/models/cls/evaluate',
        { headers: { 'content-type': 'application/x-tar' }, body: writeTar([{ path: '../escape.png', bytes: Buffer.from('x') }]) },
        400,
        'upload: the entry "../escape.png" is not a relative path inside the dataset',
      ],
      ['/v1/models/cls/evaluate?colour=1', { headers: { 'content-type': 'application/x-tar' }, body: writeTar([]) }, 400, 'colour: unknown query parameter'],
    ];
    for (const [url, init, status, message] of cases) {
      const { res, body } = await post(url, init);
      expect(res.status, `${url}: ${message}`).toBe(status);
      expect(body.error.message.startsWith(message), body.error.message).toBe(true);
    }
    expect((await call('GET', '/v1/evaluations/:id', '/v1/evaluations/not-a-uuid')).res.status).toBe(404);
    expect((await call('GET', '/v1/evaluations', '/v1/evaluations?colour=red')).res.status).toBe(400);
    const twice = await post('/v1/models/cls/evaluate?layout=imagefolder', asJson({ dataset: 'colours', layout: 'imagefolder' }));
    expect([twice.res.status, twice.body.error.message]).toEqual([400, 'layout: given in both the query and the body']);
  });

  it("one evaluation's own topic carries its progress and its end", async () => {
    const red = (await classifyFiles())[0].bytes;
    const files = Array.from({ length: 40 }, (_, i) => ({ path: `set/red/${i}.png`, bytes: red }));
    const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/slow/evaluate', {
      headers: { 'content-type': 'application/x-tar' },
      body: writeTar(files),
    });
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`);
    const frames: Frame[] = [];
    ws.on('message', (m: Buffer) => frames.push(JSON.parse(m.toString('utf8')) as Frame));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', topic: `evaluations/${started.body.id.toUpperCase()}` }));
    const e = await finished(started.body.id);
    for (let i = 0; i < 100 && !frames.some((f) => f.event === 'evaluation.updated' && f.data.status === 'succeeded'); i++)
      await new Promise((r) => setTimeout(r, 20));
    ws.close();
    expect(frames[0]).toEqual({ type: 'subscribed', topics: [`evaluations/${started.body.id}`] });
    const events = frames.filter((f) => f.type === 'event');
    expect(events.every((f) => f.topic === `evaluations/${started.body.id}`)).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'evaluation.updated', data: { id: e.id, status: 'succeeded', done: 40, summary: { accuracy: 1 } } });
    expect(reportOf(e, 'classify').metrics.confusion.matrix).toEqual([
      [40, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(events.filter((f) => f.event === 'evaluation.progress').at(-1)!.data).toEqual({ id: e.id, done: 40, total: 40, problems: 0 });
  });

  it('an evaluation deleted while it runs stops and is gone', async () => {
    const many = await classifyFiles();
    const files = Array.from({ length: 60 }, (_, i) => ({ path: `red/${i}.png`, bytes: many[0].bytes }));
    const started = await call<SubmittedEvaluationAnswer>('POST', '/v1/models/:name/evaluate', '/v1/models/cls/evaluate', {
      headers: { 'content-type': 'application/x-tar' },
      body: writeTar(files),
    });
    expect((await call('DELETE', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(204);
    await new Promise((r) => setTimeout(r, 200));
    expect((await call('GET', '/v1/evaluations/:id', `/v1/evaluations/${started.body.id}`)).res.status).toBe(404);
  });
});
