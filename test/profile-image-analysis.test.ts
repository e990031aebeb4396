import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase, storeEnv, type DatabaseTarget, type TestDatabase } from './helpers/databases.js';
import { HttpSession, multipartBody } from './helpers/http-session.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { imageAnalysisModel } from './helpers/profile-models.js';
import { plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The key the seed's examples send; here it is one of sightline's configured keys. */
const KEY = 'secret-token-123';

describeEachDatabase('the image-analysis profile', (target: DatabaseTarget) => {
  let server: Server;
  let db: TestDatabase;
  let red: Buffer;
  let blueJpeg: Buffer;

  beforeAll(async () => {
    [red, blueJpeg] = await Promise.all([solidImage('png', 8, 8, [255, 0, 0]), solidImage('jpeg', 16, 16, [0, 0, 255])]);
    db = await target.create();
    server = await startTestServer({
      ...storeEnv(db),
      SIGHTLINE_MODELS_DIR: makeModelRepo({ skin: imageAnalysisModel() }),
      SIGHTLINE_PROFILES: 'image-analysis=skin',
      SIGHTLINE_API_KEYS: `${KEY},reader-key-1:read`,
    });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('curl -X POST /upload -H "X-API-Key: secret-token-123" -F "file=@image.jpg" → {"image_id"}', async () => {
    const form = new FormData();
    form.append('file', new Blob([red], { type: 'image/png' }), 'image.png');
    const res = await fetch(`${server.url}/upload`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: form });
    expect([res.status, await res.json()]).toEqual([200, { image_id: sha(red) }]);
  });

  it('curl -X POST /analyze -H "X-API-Key: …" -d \'{"image_id": …}\' → skin_type, issues, confidence', async () => {
    const res = await fetch(`${server.url}/analyze`, {
      method: 'POST',
      headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify({ image_id: sha(red) }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['image_id', 'skin_type', 'issues', 'confidence']);
    expect([body.image_id, body.skin_type, body.issues]).toEqual([sha(red), 'Oily', ['Hyperpigmentation']]);
    expect(body.confidence).toBeCloseTo(0.87, 6);
  });

  it('a mobile app on one kept-alive connection: a JPEG upload, then its analysis', async () => {
    const session = new HttpSession(server.url);
    try {
      const { body, contentType } = multipartBody([{ name: 'file', filename: 'selfie.jpg', contentType: 'image/jpeg', data: blueJpeg }]);
      const up = await session.request('POST', '/upload', { headers: { 'x-api-key': KEY, 'content-type': contentType }, body });
      expect([up.status, up.json()]).toEqual([200, { image_id: sha(blueJpeg) }]);
      const analysed = await session.request('POST', '/analyze', {
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ image_id: sha(blueJpeg) }),
      });
      const answer = analysed.json();
      // Blue: skin logits all 0 (a tie: the first label), issue logits [3, −3, 1].
      expect([analysed.status, answer.skin_type, answer.issues, analysed.reusedSocket]).toEqual([200, 'Normal', ['Acne', 'Wrinkles'], true]);
      expect(answer.confidence).toBeCloseTo(0.25, 2);
    } finally {
      session.close();
    }
  });

  it('needs the key on every route, answering {"detail": …} with the status sightline gives', async () => {
    const noKey = await fetch(`${server.url}/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image_id: sha(red) }),
    });
    expect([noKey.status, await noKey.json()]).toEqual([401, { detail: 'an API key is required: send it as X-API-Key or Authorization: Bearer' }]);
    expect(noKey.headers.get('www-authenticate')).toBe('Bearer realm="sightline"');
    const wrong = await fetch(`${server.url}/upload`, { method: 'POST', headers: { 'X-API-Key': 'secret-token-124' }, body: new FormData() });
    expect([wrong.status, await wrong.json()]).toEqual([401, { detail: 'the API key is not valid' }]);
    const scope = await fetch(`${server.url}/analyze`, {
      method: 'POST',
      headers: { 'X-API-Key': 'reader-key-1', 'content-type': 'application/json' },
      body: '{}',
    });
    expect([scope.status, await scope.json()]).toEqual([403, { detail: 'API key "env-2" lacks the predict scope this route needs' }]);
  });

  it('refuses what the service refused: not JPEG or PNG by content, over 5 MB, no file, unknown or missing image_id', async () => {
    const upload = (data: Buffer, name: string, type: string) => {
      const form = new FormData();
      form.append('file', new Blob([data], { type }), name);
      return fetch(`${server.url}/upload`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: form });
    };
    const webp = await solidImage('webp', 8, 8, [1, 2, 3]);
    // Named .png but WebP inside: the content decides.
    const notPng = await upload(webp, 'fake.png', 'image/png');
    expect([notPng.status, await notPng.json()]).toEqual([
      400,
      { detail: 'only JPEG and PNG images are accepted (by their content); "fake.png" is image/webp' },
    ]);
    const text = await upload(Buffer.from('hello'), 'a.txt', 'text/plain');
    expect([text.status, await text.json()]).toEqual([400, { detail: 'only JPEG and PNG images are accepted (by their content); "a.txt" is not an image' }]);
    const big = await upload(Buffer.alloc(5 * 1024 * 1024 + 1), 'big.png', 'image/png');
    expect([big.status, await big.json()]).toEqual([413, { detail: 'file "big.png" exceeds the limit of 5242880 bytes' }]);
    const none = await fetch(`${server.url}/upload`, { method: 'POST', headers: { 'X-API-Key': KEY }, body: new FormData() });
    expect(none.status).toBe(400);
    const analyze = (body: unknown) =>
      fetch(`${server.url}/analyze`, { method: 'POST', headers: { 'X-API-Key': KEY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknown = await analyze({ image_id: 'abc123' });
    expect([unknown.status, await unknown.json()]).toEqual([404, { detail: 'image abc123 not found' }]);
    const missing = await analyze({});
    expect([missing.status, await missing.json()]).toEqual([400, { detail: 'image_id: missing: must be the image_id POST /upload answered' }]);
  });
});

describe('the image-analysis profile refuses to start', () => {
  it('without API keys: no key is built in', async () => {
    await expect(
      startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ 'image-analysis': imageAnalysisModel() }), SIGHTLINE_PROFILES: 'image-analysis' }),
    ).rejects.toThrow(
      'profile image-analysis: every route of this profile needs an X-API-Key, and no key is built in: configure SIGHTLINE_API_KEYS or SIGHTLINE_API_KEYS_FILE',
    );
  });

  it('with a model that lacks its classify or multilabel head', async () => {
    const plain = makeModelRepo({
      'image-analysis': { onnx: linearClassifier({ classes: 2 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['a', 'b'] } } },
    });
    await expect(startTestServer({ SIGHTLINE_MODELS_DIR: plain, SIGHTLINE_PROFILES: 'image-analysis', SIGHTLINE_API_KEYS: KEY })).rejects.toThrow(
      /^profile image-analysis needs a multi model "image-analysis", but "image-analysis" is a classify model/,
    );
    const model = imageAnalysisModel();
    const oneHead = { ...model, manifest: { ...model.manifest, heads: { skin_type: (model.manifest.heads as Record<string, unknown>).skin_type } } };
    await expect(
      startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ 'image-analysis': oneHead }), SIGHTLINE_PROFILES: 'image-analysis', SIGHTLINE_API_KEYS: KEY }),
    ).rejects.toThrow(
      'but the profile needs exactly one head of task "classify" (its name is the answer\'s label field) and one of task "multilabel" (the issues)',
    );
  });
});
