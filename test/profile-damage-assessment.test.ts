import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSession, multipartBody } from './helpers/http-session.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { damageAssessmentModel } from './helpers/profile-models.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let server: Server;
let red: Buffer;
let green: Buffer;

beforeAll(async () => {
  // 896×448 photos, stretched to the model's 224×224: boxes come back ×4 across, ×2 down.
  [red, green] = await Promise.all([solidImage('png', 896, 448, [255, 0, 0]), solidImage('jpeg', 896, 448, [0, 255, 0])]);
  server = await startTestServer({
    SIGHTLINE_MODELS_DIR: makeModelRepo({ 'damage-assessment': damageAssessmentModel() }),
    SIGHTLINE_PROFILES: 'damage-assessment',
  });
  await server.modelsLoaded;
});
afterAll(() => server?.close());

const severe = Math.exp(2) / (Math.exp(2) + 2);

describe('the damage-assessment profile, as its README documents it', () => {
  it('GET /ping: {"message": "Server is alive!", "status": "ok"}', async () => {
    const res = await fetch(`${server.url}/ping`);
    expect([res.status, await res.json()]).toEqual([200, { message: 'Server is alive!', status: 'ok' }]);
  });

  it('POST /analyze with a multipart file: exactly the documented answer, field by field', async () => {
    const form = new FormData();
    form.append('file', new Blob([red], { type: 'image/png' }), 'car.png');
    const res = await fetch(`${server.url}/analyze`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      success: true,
      totalDamages: 1,
      overallSeverity: 'severe',
      confidence: severe.toFixed(2),
      costRange: { min: 800, max: 2500 },
      damages: [
        {
          id: 'dmg-1',
          type: 'Primary Damage Area',
          location: 'Detected by AI',
          severity: 'severe',
          estimatedCost: { min: 800, max: 2500 },
          coordinates: [[0.125 * 896, 0.0625 * 448, 0.875 * 896, 0.875 * 448]],
        },
      ],
    });
    expect(Object.keys(body as object)).toEqual(['success', 'totalDamages', 'overallSeverity', 'confidence', 'costRange', 'damages']);
    expect((body as { confidence: string }).confidence).toBe('0.79');
  });

  it('a mobile app on one kept-alive connection: a JPEG, then another photo, then a bad upload, then a photo again', async () => {
    const session = new HttpSession(server.url);
    try {
      const photo = (data: Buffer, name: string) => {
        const { body, contentType } = multipartBody([{ name: 'file', filename: name, contentType: 'image/jpeg', data }]);
        return session.request('POST', '/analyze', { headers: { 'content-type': contentType }, body });
      };
      const first = await photo(green, 'door.jpg');
      const answer = first.json();
      // JPEG rounding moves the box a little and the logits hardly.
      expect([first.status, answer.overallSeverity, answer.costRange, answer.damages[0].severity]).toEqual([
        200,
        'moderate',
        { min: 300, max: 1200 },
        'moderate',
      ]);
      expect(answer.damages[0].coordinates[0][0]).toBeCloseTo(0.375 * 896, -1);
      const bad = await photo(Buffer.from('not a photo'), 'notes.jpg');
      expect([bad.status, Object.keys(bad.json())]).toEqual([415, ['success', 'error']]);
      const again = await photo(red, 'bumper.png');
      expect([again.status, again.json().overallSeverity, again.reusedSocket, bad.reusedSocket]).toEqual([200, 'severe', true, true]);
    } finally {
      session.close();
    }
  });

  it('errors as {"success": false, "error": …}', async () => {
    const none = await fetch(`${server.url}/analyze`, { method: 'POST', body: new FormData() });
    expect([none.status, await none.json()]).toEqual([400, { success: false, error: 'multipart body has no "file" field' }]);
    const json = await fetch(`${server.url}/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect([json.status, await json.json()]).toEqual([415, { success: false, error: 'expected Content-Type multipart/form-data, got application/json' }]);
    const cut = new FormData();
    cut.append('file', new Blob([red.subarray(0, 100)]), 'cut.png');
    const truncated = await fetch(`${server.url}/analyze`, { method: 'POST', body: cut });
    expect(truncated.status).toBe(422);
    expect((await truncated.json()) as object).toEqual({ success: false, error: expect.any(String) });
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as any;
    expect(doc.paths['/analyze'].post.responses['422'].content['application/json'].schema.$ref).toBe('#/components/schemas/SuccessFalseError');
    expect(doc.paths['/ping'].get.tags).toEqual(['damage-assessment']);
  });
});

describe('the damage-assessment profile refuses a model without its heads and rules', () => {
  it('names what is missing', async () => {
    const model = damageAssessmentModel();
    const manifest = model.manifest as { rules: { aggregates: Record<string, unknown> } };
    const { costRange: _cost, ...aggregates } = manifest.rules.aggregates;
    const partial = { ...model, manifest: { ...manifest, rules: { ...manifest.rules, aggregates } } };
    await expect(startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ damage: partial }), SIGHTLINE_PROFILES: 'damage-assessment=damage' })).rejects.toThrow(
      /^profile damage-assessment needs a multi model "damage", but the profile needs rule aggregates "costRange" \(.*\/damage\/model\.json\)$/,
    );
  });
});
