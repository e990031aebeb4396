import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase, type DatabaseTarget, type TestDatabase } from './helpers/databases.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { carSegmentationModel, damageAssessmentModel, fractureModel, imageAnalysisModel } from './helpers/profile-models.js';
import { startTestServer } from './helpers/server.js';
import { FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const KEY = 'secret-token-123';
const repo = () =>
  makeModelRepo({ fracture: fractureModel(), parts: carSegmentationModel(), skin: imageAnalysisModel(), 'damage-assessment': damageAssessmentModel() });

const configFile = (value: unknown) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sightline-profiles-')), 'sightline.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
};

describe('profiles that claim the same route', () => {
  const models = repo();
  const start = (profiles: string) => startTestServer({ SIGHTLINE_MODELS_DIR: models, SIGHTLINE_PROFILES: profiles, SIGHTLINE_API_KEYS: KEY });

  it('refuse to start, naming both', async () => {
    await expect(start('fracture,car-segmentation=parts')).rejects.toThrow(
      'profiles fracture and car-segmentation both claim GET /; mount one of them under another prefix',
    );
    await expect(start('damage-assessment,image-analysis=skin')).rejects.toThrow(
      'profiles damage-assessment and image-analysis both claim POST /analyze; mount one of them under another prefix',
    );
    await expect(start('fracture@/x,car-segmentation=parts@/x')).rejects.toThrow(
      'profiles fracture and car-segmentation both claim GET /x; mount one of them under another prefix',
    );
  });

  it('refuse to take a route sightline serves itself, or a path parameter it spells differently', async () => {
    await expect(start('vehicle-monitoring@/v1')).rejects.toThrow(
      'profile vehicle-monitoring claims GET /v1/ws, which sightline serves itself; mount the profile under a prefix',
    );
    await expect(start('car-segmentation=parts@/ui')).rejects.toThrow(
      'sightline (/ui/:asset) and profile car-segmentation (/ui/:image_id/status) name the same path parameter differently; mount ' +
        'car-segmentation under another prefix',
    );
  });
});

describeEachDatabase('all five profiles at once, with prefixes where they collide', (target: DatabaseTarget) => {
  let server: Server;
  let db: TestDatabase;
  let red: Buffer;
  let green: Buffer;
  const auth = { 'X-API-Key': KEY };

  beforeAll(async () => {
    [red, green] = await Promise.all([solidImage('png', 8, 8, [255, 0, 0]), solidImage('png', 16, 16, [0, 200, 0])]);
    db = await target.create();
    const config = configFile({
      profiles: {
        fracture: { model: 'fracture', prefix: '/' },
        'car-segmentation': { model: 'parts', prefix: '/segmentation' },
        'image-analysis': { model: 'skin', prefix: '/skin' },
        'damage-assessment': {},
        'vehicle-monitoring': { prefix: '/' },
      },
    });
    server = await startTestServer({
      SIGHTLINE_DATABASE_URL: db.url,
      SIGHTLINE_DATA_DIR: db.dataDir,
      SIGHTLINE_MODELS_DIR: repo(),
      SIGHTLINE_CONFIG: config,
      SIGHTLINE_API_KEYS: KEY,
    });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('documents every profile under its tag, with its prefix, and every route with a schema', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    const tags = doc.tags.map((t: { name: string }) => t.name);
    expect(tags).toEqual(expect.arrayContaining(['fracture', 'car-segmentation', 'image-analysis', 'damage-assessment', 'vehicle-monitoring']));
    const byTag = (tag: string) =>
      Object.entries(doc.paths as Record<string, Record<string, { tags: string[] }>>).flatMap(([p, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => op.tags?.includes(tag))
          .map(([m]) => `${m.toUpperCase()} ${p}`),
      );
    expect(byTag('car-segmentation')).toEqual([
      'POST /segmentation',
      'GET /segmentation',
      'GET /segmentation/{image_id}/status',
      'GET /segmentation/{image_id}/segments',
    ]);
    expect(byTag('image-analysis')).toEqual(['POST /skin/upload', 'POST /skin/analyze']);
    expect(byTag('damage-assessment')).toEqual(['GET /ping', 'POST /analyze']);
    expect(byTag('vehicle-monitoring')).toEqual(['POST /api/detect', 'GET /api/stats', 'DELETE /api/delete/{id}', 'GET /ws']);
    expect(byTag('fracture')).toHaveLength(13);
    expect(doc.paths['/'].get.tags).toEqual(['fracture']);
    expect(doc.paths['/console'].get.tags).toEqual(['Console']);
    const undocumented = Object.values(doc.paths as Record<string, Record<string, Record<string, unknown>>>)
      .flatMap((ops) => Object.values(ops))
      .filter((op) => op['x-undocumented']);
    expect(undocumented).toEqual([]);
    // Who may call each, as the server enforces it.
    expect([doc.paths['/skin/upload'].post['x-scope'], doc.paths['/api/delete/{id}'].delete['x-scope'], doc.paths['/health'].get['x-scope']]).toEqual([
      'predict',
      'admin',
      'public',
    ]);
    expect(doc.paths['/ws'].get['x-websocket'].server).toBeDefined();
  });

  it('each profile answers its own clients, keyed, side by side with the native API', async () => {
    // fracture at /
    const fx = new FormData();
    fx.append('file', new Blob([red], { type: 'image/png' }), 'xray.png');
    const fracture = (await (await fetch(`${server.url}/predict_local`, { method: 'POST', headers: auth, body: fx })).json()) as Record<string, unknown>;
    expect([fracture.predicted_label, fracture.filename]).toEqual(['NEGATIVE', 'xray.png']);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);

    // image-analysis under /skin
    const up = new FormData();
    up.append('file', new Blob([red], { type: 'image/png' }), 'face.png');
    const { image_id } = (await (await fetch(`${server.url}/skin/upload`, { method: 'POST', headers: auth, body: up })).json()) as { image_id: string };
    const skin = (await (
      await fetch(`${server.url}/skin/analyze`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ image_id }),
      })
    ).json()) as Record<string, unknown>;
    expect([skin.skin_type, skin.issues]).toEqual(['Oily', ['Hyperpigmentation']]);

    // damage-assessment at /
    expect(await (await fetch(`${server.url}/ping`)).json()).toEqual({ message: 'Server is alive!', status: 'ok' });
    const photo = new FormData();
    photo.append('file', new Blob([await solidImage('png', 896, 448, [255, 0, 0])]), 'car.png');
    const damage = (await (await fetch(`${server.url}/analyze`, { method: 'POST', headers: auth, body: photo })).json()) as Record<string, unknown>;
    expect([damage.success, damage.overallSeverity, damage.costRange]).toEqual([true, 'severe', { min: 800, max: 2500 }]);

    // vehicle-monitoring at /, its socket keyed by ?key=
    const phone = await FrameClient.open(`${server.url.replace('http', 'ws')}/ws?key=${KEY}`);
    try {
      const posted = await fetch(`${server.url}/api/detect`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ tracking_id: 1, vehicle_type: 'car', camera: 'gate', timestamp: '2024-03-10T08:00:00Z' }),
      });
      const { id } = (await posted.json()) as { id: string };
      expect(await phone.next()).toEqual({
        type: 'detection',
        id,
        tracking_id: '1',
        vehicle_type: 'car',
        camera: 'gate',
        timestamp: '2024-03-10T08:00:00.000Z',
        confidence: 1,
        image: null,
      });
    } finally {
      phone.close();
    }

    // car-segmentation under /segmentation
    const seg = (await (
      await fetch(`${server.url}/segmentation`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ image: green.toString('base64') }),
      })
    ).json()) as { image_hash: string };
    let status = '';
    for (let i = 0; i < 500 && status !== 'Ready'; i++) {
      status = ((await (await fetch(`${server.url}/segmentation/${seg.image_hash}/status`, { headers: auth })).json()) as { status: string }).status;
      if (status !== 'Ready') await new Promise((r) => setTimeout(r, 10));
    }
    expect(status).toBe('Ready');
    expect(Object.keys((await (await fetch(`${server.url}/segmentation/${seg.image_hash}/segments`, { headers: auth })).json()) as object)).toEqual(['body']);
    expect(await (await fetch(`${server.url}/segmentation`, { headers: auth })).json()).toEqual([seg.image_hash]);

    // The native API beside them, and the console moved to /console.
    const native = (await (await fetch(`${server.url}/v1/models`, { headers: auth })).json()) as { models: Array<{ name: string }> };
    expect(native.models.map((m) => m.name)).toEqual(['damage-assessment', 'fracture', 'parts', 'skin']);
    expect((await fetch(`${server.url}/console`)).status).toBe(200);
  });

  it("asks every profile route for the key once keys are configured, in the profile's own error shape", async () => {
    const refused = async (method: string, p: string) => {
      const res = await fetch(`${server.url}${p}`, { method });
      return [res.status, await res.json()];
    };
    const message = 'an API key is required: send it as X-API-Key or Authorization: Bearer';
    expect(await refused('POST', '/predict')).toEqual([401, { detail: message }]);
    expect(await refused('POST', '/analyze')).toEqual([401, { success: false, error: message }]);
    expect(await refused('GET', '/segmentation')).toEqual([401, { error: message }]);
    expect(await refused('GET', '/api/stats')).toEqual([401, { detail: message }]);
    expect(await refused('POST', '/skin/analyze')).toEqual([401, { detail: message }]);
    expect(await refused('GET', '/v1/models')).toEqual([401, { error: { code: 'unauthorized', message } }]);
  });
});
