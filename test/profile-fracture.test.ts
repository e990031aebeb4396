import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailability, launchBrowser } from './helpers/browser.js';
import { HttpSession, multipartBody } from './helpers/http-session.js';
import { solidImage, splitImage } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { fixedDetector } from './helpers/onnx-model.js';
import { fractureModel } from './helpers/profile-models.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;
let green: Buffer;
let greenJpeg: Buffer;
let red: Buffer;

const form = (files: Array<[string, Buffer, string, string?]>) => {
  const f = new FormData();
  for (const [field, data, name, type] of files) f.append(field, new Blob([data], type ? { type } : {}), name);
  return f;
};

beforeAll(async () => {
  [green, greenJpeg, red] = await Promise.all([
    solidImage('png', 16, 16, [0, 255, 0]),
    solidImage('jpeg', 32, 24, [0, 255, 0]),
    solidImage('png', 8, 8, [255, 0, 0]),
  ]);
  // The test folder as the service kept it: one folder of images per category.
  const root = mkdtempSync(path.join(os.tmpdir(), 'sightline-fracture-'));
  const dataset = path.join(root, 'test_images');
  for (const [file, image] of [
    ['negative/a.png', red],
    ['negative/b.png', red],
    ['positive/c.png', green],
    ['positive/d.png', red],
  ] as const) {
    mkdirSync(path.dirname(path.join(dataset, file)), { recursive: true });
    writeFileSync(path.join(dataset, file), image);
  }
  writeFileSync(path.join(dataset, 'positive', 'notes.txt'), 'not an image');
  const config = path.join(root, 'sightline.json');
  writeFileSync(config, JSON.stringify({ profiles: { fracture: { model: 'fracture', prefix: '/', dataset } } }));
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ fracture: fractureModel() }), SIGHTLINE_CONFIG: config });
  await server.modelsLoaded;
});
afterAll(() => server?.close());

describe('the fracture profile, as its README uses it', () => {
  it('curl -X POST /predict_local -F file=@path/to/image.jpg: the documented fields, value by value', async () => {
    const res = await fetch(`${server.url}/predict_local`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: form([['file', green, 'image.png', 'image/png']]),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(Object.keys(body)).toEqual([
      'predicted_class',
      'predicted_label',
      'confidence',
      'probabilities',
      'filename',
      'file_size',
      'content_type',
      'inference_type',
      'model_source',
    ]);
    expect(body.predicted_class).toBe(1);
    expect(body.predicted_label).toBe('POSITIVE');
    expect(body.confidence).toBeCloseTo(0.95, 6);
    expect(Object.keys(body.probabilities)).toEqual(['negative', 'positive']);
    expect(body.probabilities.negative).toBeCloseTo(0.05, 6);
    expect(body.probabilities.positive).toBeCloseTo(0.95, 6);
    expect([body.filename, body.file_size, body.content_type, body.inference_type, body.model_source]).toEqual([
      'image.png',
      green.byteLength,
      'image/png',
      'local',
      'local',
    ]);

    // The same with a JPEG, as the example uploads one: JPEG's rounding moves the value a little.
    const jpeg = (await (
      await fetch(`${server.url}/predict_local`, { method: 'POST', body: form([['file', greenJpeg, 'image.jpg', 'image/jpeg']]) })
    ).json()) as Record<string, any>;
    expect([jpeg.predicted_label, jpeg.filename, jpeg.file_size, jpeg.content_type]).toEqual(['POSITIVE', 'image.jpg', greenJpeg.byteLength, 'image/jpeg']);
    expect(jpeg.confidence).toBeCloseTo(0.95, 2);
  });

  it('the Python snippet: requests.post(files={"file": f}) on a kept-alive connection, printing label and confidence', async () => {
    const session = new HttpSession(server.url);
    try {
      // requests sends the file's base name and no Content-Type for the part.
      const { body, contentType } = multipartBody([{ name: 'file', filename: 'image.jpg', data: greenJpeg }]);
      const first = await session.request('POST', '/predict_local', { headers: { 'content-type': contentType }, body });
      expect(first.status).toBe(200);
      const result = first.json();
      expect(`Prediction: ${result.predicted_label}`).toBe('Prediction: POSITIVE');
      expect(`Confidence: ${(result.confidence * 100).toFixed(2)}%`).toBe('Confidence: 95.00%');
      expect(result.content_type).toBe('image/jpeg');
      // An error answer leaves the connection usable too.
      const bad = multipartBody([{ name: 'file', filename: 'notes.txt', data: 'not an image' }]);
      const refused = await session.request('POST', '/predict_local', { headers: { 'content-type': bad.contentType }, body: bad.body });
      expect(refused.status).toBe(415);
      expect(Object.keys(refused.json())).toEqual(['detail']);
      const again = await session.request('POST', '/predict', { headers: { 'content-type': contentType }, body });
      expect([again.status, again.json().inference_type, again.reusedSocket, refused.reusedSocket]).toEqual([200, 'standard', true, true]);
      expect(new Set(session.ports).size).toBe(1);
    } finally {
      session.close();
    }
  });

  it('curl /health, /model_info, /api_docs and /: status, model and endpoints', async () => {
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({
      status: 'healthy',
      model_loaded: true,
      model_state: 'ready',
      model_source: 'local',
      device: 'cpu',
    });
    expect(await (await fetch(`${server.url}/model_info`)).json()).toEqual({
      model_name: 'fracture',
      model_loaded: true,
      model_state: 'ready',
      model_source: 'local',
      model_file: 'model.onnx',
      device: 'cpu',
      classes: ['NEGATIVE', 'POSITIVE'],
      num_classes: 2,
      input_size: [8, 8],
      architecture: 'EfficientNet-B7 binary classifier (test stand-in)',
      hf_repo_id: null,
    });
    const docs = (await (await fetch(`${server.url}/api_docs`)).json()) as { title: string; endpoints: Array<{ method: string; path: string }> };
    expect(docs.title).toBe('Medical Fracture Detection API');
    expect(docs.endpoints.map((e) => `${e.method} ${e.path}`)).toEqual([
      'GET /',
      'GET /health',
      'GET /model_info',
      'POST /load_model',
      'POST /predict',
      'POST /predict_local',
      'POST /predict_global',
      'POST /predict_batch',
      'POST /predict_base64',
      'GET /upload_interface',
      'GET /api_docs',
      'GET /test_images',
      'POST /test_inference',
    ]);
    const root = (await (await fetch(`${server.url}/`)).json()) as Record<string, unknown>;
    expect(root).toMatchObject({
      message: 'Medical Fracture Detection API',
      status: 'running',
      model_loaded: true,
      model_source: 'local',
      upload_interface: '/upload_interface',
      api_docs: '/api_docs',
    });
    // The profile claims GET /, so the console answers at /console.
    const consolePage = await fetch(`${server.url}/console`);
    expect([consolePage.status, (await consolePage.text()).includes('<title>sightline')]).toEqual([200, true]);
  });

  it('curl -X POST "/load_model?source=…": local and auto reload from disk, huggingface is a clear error', async () => {
    const local = await fetch(`${server.url}/load_model?source=local`, { method: 'POST' });
    expect(local.status).toBe(200);
    const answer = (await local.json()) as { message: string; source: string; model_info: { model_loaded: boolean } };
    expect([answer.message, answer.source, answer.model_info.model_loaded]).toEqual([
      'Model loaded successfully from the local model repository',
      'local',
      true,
    ]);
    expect(((await (await fetch(`${server.url}/load_model`, { method: 'POST' })).json()) as { source: string }).source).toBe('auto');
    const hub = await fetch(`${server.url}/load_model?source=huggingface`, { method: 'POST' });
    expect(hub.status).toBe(400);
    expect(await hub.json()).toEqual({
      detail:
        'source "huggingface" is not available: sightline loads no weights from a hub; put the model file in the model repository and load ' +
        'it with source=local (or auto)',
    });
    const other = await fetch(`${server.url}/load_model?source=s3`, { method: 'POST' });
    expect([other.status, await other.json()]).toEqual([400, { detail: 'source: must be one of auto, local, huggingface' }]);
    // Still serving after the reloads.
    const res = await fetch(`${server.url}/predict`, { method: 'POST', body: form([['file', red, 'red.png', 'image/png']]) });
    expect(((await res.json()) as { predicted_label: string }).predicted_label).toBe('NEGATIVE');
  });

  it('curl -X POST /predict_global: a clear error, as sightline runs the model itself', async () => {
    const res = await fetch(`${server.url}/predict_global`, {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: form([['file', green, 'image.jpg']]),
    });
    expect(res.status).toBe(501);
    expect(await res.json()).toEqual({
      detail: 'global inference through the Hugging Face Hub is not available: sightline runs the model itself; use /predict_local',
    });
  });

  it('/predict_batch: up to 10 files in upload order, a bad one reported in place; more than 10 refused', async () => {
    const half = await splitImage('png', 8, 8, [255, 0, 0], [0, 255, 0]);
    const res = await fetch(`${server.url}/predict_batch`, {
      method: 'POST',
      body: form([
        ['files', green, 'a.png', 'image/png'],
        ['files', Buffer.from('text'), 'b.txt', 'text/plain'],
        ['files', red, 'c.png', 'image/png'],
        ['files', half, 'd.png', 'image/png'],
      ]),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: Array<Record<string, any>>;
      total_images: number;
      successful_predictions: number;
      failed_predictions: number;
      inference_type: string;
      model_source: string;
    };
    expect([body.total_images, body.successful_predictions, body.failed_predictions, body.inference_type, body.model_source]).toEqual([
      4,
      3,
      1,
      'batch',
      'local',
    ]);
    expect(body.results.map((r) => [r.filename, r.predicted_label ?? null, r.inference_type ?? null])).toEqual([
      ['a.png', 'POSITIVE', 'batch'],
      ['b.txt', null, null],
      ['c.png', 'NEGATIVE', 'batch'],
      ['d.png', 'POSITIVE', 'batch'],
    ]);
    expect(body.results[1]).toEqual({ filename: 'b.txt', error: 'not a recognised image; supported formats: jpeg, png, webp, gif, tiff, avif' });
    // Red has no green: both logits 0, a tie broken by label order.
    expect(body.results[2].confidence).toBe(0.5);
    // Half green: logits [0, ln 19 / 2], so P(positive) = √19 / (1 + √19).
    expect(body.results[3].probabilities.positive).toBeCloseTo(Math.sqrt(19) / (1 + Math.sqrt(19)), 5);

    const eleven = await fetch(`${server.url}/predict_batch`, {
      method: 'POST',
      body: form(Array.from({ length: 11 }, (_, i) => ['files', red, `${i}.png`, 'image/png'] as [string, Buffer, string, string])),
    });
    expect([eleven.status, await eleven.json()]).toEqual([400, { detail: 'at most 10 images per batch, got 11' }]);
  });

  it('/predict_base64: JSON with the image (or a data URL), and the same as a form', async () => {
    const json = await fetch(`${server.url}/predict_base64`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: green.toString('base64') }),
    });
    const body = (await json.json()) as Record<string, any>;
    expect([json.status, body.predicted_label, body.filename, body.file_size, body.content_type, body.inference_type]).toEqual([
      200,
      'POSITIVE',
      'base64_image',
      green.byteLength,
      'image/png',
      'base64',
    ]);
    expect(body.confidence).toBeCloseTo(0.95, 6);
    const dataUrl = await fetch(`${server.url}/predict_base64`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image_base64: `data:image/png;base64,${red.toString('base64')}`, filename: 'xray.png' }),
    });
    expect((await dataUrl.json()) as Record<string, unknown>).toMatchObject({ predicted_label: 'NEGATIVE', filename: 'xray.png' });
    const formBody = new URLSearchParams({ image: green.toString('base64') });
    const urlencoded = await fetch(`${server.url}/predict_base64`, { method: 'POST', body: formBody });
    expect(((await urlencoded.json()) as Record<string, unknown>).predicted_label).toBe('POSITIVE');
    const missing = await fetch(`${server.url}/predict_base64`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([missing.status, await missing.json()]).toEqual([400, { detail: 'image: missing: expected a base64 string or data URL' }]);
    const notBase64 = await fetch(`${server.url}/predict_base64`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: '***' }),
    });
    expect([notBase64.status, await notBase64.json()]).toEqual([400, { detail: 'image: not valid base64' }]);
  });

  it('GET /test_images and POST /test_inference: the test folder by category, and the accuracy on it', async () => {
    expect(await (await fetch(`${server.url}/test_images`)).json()).toEqual({
      dataset: 'test_images',
      categories: {
        negative: { count: 2, images: ['negative/a.png', 'negative/b.png'] },
        positive: { count: 2, images: ['positive/c.png', 'positive/d.png'] },
      },
      total_images: 4,
      problems: [{ file: 'positive/notes.txt', message: 'not an image (by its extension)' }],
    });
    const res = await fetch(`${server.url}/test_inference`, { method: 'POST' });
    expect(res.status).toBe(200);
    const report = (await res.json()) as Record<string, any>;
    expect([report.total_images, report.evaluated_images, report.correct_predictions, report.accuracy]).toEqual([4, 4, 3, 0.75]);
    expect(report.per_category).toEqual({ negative: { total: 2, correct: 2, accuracy: 1 }, positive: { total: 2, correct: 1, accuracy: 0.5 } });
    expect(report.results.map((r: Record<string, unknown>) => [r.file, r.true_label, r.predicted_label, r.correct])).toEqual([
      ['negative/a.png', 'NEGATIVE', 'NEGATIVE', true],
      ['negative/b.png', 'NEGATIVE', 'NEGATIVE', true],
      ['positive/c.png', 'POSITIVE', 'POSITIVE', true],
      ['positive/d.png', 'POSITIVE', 'NEGATIVE', false],
    ]);
    expect(report.results[2].confidence).toBeCloseTo(0.95, 6);
    expect(report.metrics.confusion).toEqual({
      labels: ['NEGATIVE', 'POSITIVE'],
      matrix: [
        [2, 0],
        [1, 1],
      ],
    });
    expect(report.metrics.perClass.map((c: { label: string; precision: number; recall: number }) => [c.label, c.precision, c.recall])).toEqual([
      ['NEGATIVE', 2 / 3, 1],
      ['POSITIVE', 1, 0.5],
    ]);
    expect(report.problems).toEqual([{ file: 'positive/notes.txt', message: 'not an image (by its extension)' }]);
  });

  it('answers its errors as {"detail": …} with the status of the problem', async () => {
    const noFile = await fetch(`${server.url}/predict`, { method: 'POST', body: form([['upload', green, 'a.png']]) });
    expect([noFile.status, await noFile.json()]).toEqual([400, { detail: 'multipart body has no "file" field' }]);
    const notImage = await fetch(`${server.url}/predict_local`, {
      method: 'POST',
      body: form([['file', Buffer.from('%PDF-1.4'), 'scan.pdf', 'application/pdf']]),
    });
    expect(notImage.status).toBe(415);
    expect(((await notImage.json()) as { detail: string }).detail).toMatch(/not supported/);
    const truncated = await fetch(`${server.url}/predict_local`, {
      method: 'POST',
      body: form([['file', greenJpeg.subarray(0, 200), 'cut.jpg', 'image/jpeg']]),
    });
    expect(truncated.status).toBe(422);
    expect(Object.keys((await truncated.json()) as object)).toEqual(['detail']);
    const json = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([json.status, await json.json()]).toEqual([415, { detail: 'expected Content-Type multipart/form-data, got application/json' }]);
  });

  it('is in the OpenAPI document under its own tag, with its error shape', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(doc.tags.map((t: { name: string }) => t.name)).toContain('fracture');
    const op = doc.paths['/predict_local'].post;
    expect([op.operationId, op.tags, op['x-scope']]).toEqual(['fracturePredictLocal', ['fracture'], 'predict']);
    expect(Object.keys(op.requestBody.content)).toEqual(['multipart/form-data']);
    expect(op.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/FracturePrediction');
    expect(op.responses['415'].content['application/json'].schema.$ref).toBe('#/components/schemas/DetailError');
    expect(doc.paths['/'].get.operationId).toBe('fractureRoot');
    expect(doc.paths['/console'].get.operationId).toBe('getConsoleAtConsole');
    expect(doc.paths['/load_model'].post['x-scope']).toBe('admin');
  });
});

describe('the fracture profile refuses to start without its model', () => {
  it('names the profile, the model and what is wrong: missing, or of another task', async () => {
    await expect(startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({}), SIGHTLINE_PROFILES: 'fracture' })).rejects.toThrow(
      /^profile fracture needs a classify model "fracture", but the repository has no .*\/fracture\/model\.json$/,
    );
    const detector = makeModelRepo({
      xray: {
        onnx: fixedDetector().bytes,
        manifest: { task: 'detect', input: { resize: 'stretch', width: 64, height: 64, colorOrder: 'RGB' }, head: { labels: ['car', 'person'] } },
      },
    });
    await expect(startTestServer({ SIGHTLINE_MODELS_DIR: detector, SIGHTLINE_PROFILES: 'fracture=xray' })).rejects.toThrow(
      /^profile fracture needs a classify model "xray", but "xray" is a detect model \(.*\/xray\/model\.json\)$/,
    );
    await expect(
      startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ fracture: fractureModel() }), SIGHTLINE_MODELS: 'other', SIGHTLINE_PROFILES: 'fracture' }),
    ).rejects.toThrow('profile fracture needs a classify model "fracture", but SIGHTLINE_MODELS (other) does not load it');
  });
});

const availability = browserAvailability();

describe.skipIf(!availability.available)(
  availability.available ? 'the upload page in chromium' : `the upload page in chromium (${availability.reason})`,
  () => {
    let browser: Browser;
    let prefixed: Server;
    beforeAll(async () => {
      [browser, prefixed] = await Promise.all([
        launchBrowser(),
        startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ fracture: fractureModel() }), SIGHTLINE_PROFILES: 'fracture@/fracture/v1' }),
      ]);
      await prefixed.modelsLoaded;
    });
    afterAll(async () => {
      await browser?.close();
      await prefixed?.close();
    });

    for (const [where, base] of [
      ['at /', () => `${server.url}`],
      ['under a prefix', () => `${prefixed.url}/fracture/v1`],
    ] as const) {
      it(`uploads an image and shows the prediction; global inference shows the error (${where})`, async () => {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (err) => problems.push(err.message));
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(msg.text());
        });
        try {
          const res = await page.goto(`${base()}/upload_interface`);
          expect(res!.status()).toBe(200);
          expect(await page.title()).toBe('Medical Fracture Detection');
          await page.setInputFiles('#file', { name: 'image.png', mimeType: 'image/png', buffer: green });
          await page.click('#local');
          await page.locator('#label').waitFor();
          expect(await page.locator('#label').textContent()).toBe('POSITIVE');
          expect(await page.locator('#confidence').textContent()).toBe('95.00%');
          expect(await page.locator('[data-probability="negative"]').textContent()).toBe('5.00%');
          expect(await page.locator('#preview').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(16);
          await page.click('#global');
          await page.locator('#error-detail').waitFor();
          expect(await page.locator('#result').textContent()).toBe(
            'Error 501: global inference through the Hugging Face Hub is not available: sightline runs the model itself; use /predict_local',
          );
          // The 501 is the one console error the page may log (the browser reports a failed fetch); nothing else.
          expect(problems.filter((p) => !p.includes('501'))).toEqual([]);
        } finally {
          await page.close();
        }
      });
    }
  },
);
