import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { infer, type ClientTensor } from './helpers/kserve-client.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const PREDICT = 'predict-key-123';
const READ = 'read-only-key-456';
const ADMIN = 'admin-only-key-789';
const tensor: ClientTensor = { name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], data: new Float32Array(192).fill(0.25) };

let server: Server;

beforeAll(async () => {
  const repo = makeModelRepo({
    cls: {
      onnx: linearClassifier({ classes: 3 }).bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels: ['r', 'g', 'b'] }, instances: 1, intraOpThreads: 1 },
    },
  });
  server = await startTestServer({
    SIGHTLINE_MODELS_DIR: repo,
    SIGHTLINE_CALIBRATE: 'false',
    SIGHTLINE_API_KEYS: `${PREDICT}:predict,${READ}:read,${ADMIN}:admin`,
    SIGHTLINE_RATE_LIMIT_RPS: '2',
    SIGHTLINE_RATE_LIMIT_BURST: '4',
  });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const get = async (path: string, key?: string) => {
  const res = await fetch(`${server.url}${path}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
};

describe('keys, scopes and rate limits on /v2, as on /v1', () => {
  it('keeps the probes and the server metadata public, whatever key is sent', async () => {
    for (const path of ['/v2', '/v2/health/live', '/v2/health/ready', '/v2/models/cls/ready']) {
      expect((await get(path)).status, path).toBe(200);
      expect((await get(path, 'not-a-key-at-all')).status, path).toBe(200);
    }
  });

  it('refuses a missing, unknown or unscoped key in the protocol shape, with the challenge headers', async () => {
    const none = await infer(server.url, 'cls', [tensor]);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ error: expect.stringContaining('API key') });
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="sightline"');
    const unknown = await infer(server.url, 'cls', [tensor], { headers: { authorization: 'Bearer nobody-knows-this' } });
    expect(unknown.status).toBe(401);
    expect(Object.keys(unknown.json)).toEqual(['error']);
    expect(unknown.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const readOnly = await infer(server.url, 'cls', [tensor], { headers: { authorization: `Bearer ${READ}` } });
    expect(readOnly.status).toBe(403);
    expect(Object.keys(readOnly.json)).toEqual(['error']);
    expect(readOnly.headers.get('www-authenticate')).toContain('scope="predict"');
    const metadata = await get('/v2/models/cls', PREDICT);
    expect(metadata.status).toBe(403);
    expect(Object.keys(metadata.json)).toEqual(['error']);
    expect((await get('/v2/models/cls', READ)).json.name).toBe('cls');
    const unload = await fetch(`${server.url}/v2/repository/models/cls/unload`, { method: 'POST', headers: { 'x-api-key': READ } });
    expect(unload.status).toBe(403);
  });

  it('serves a predict key given as Authorization: Bearer or X-API-Key, and limits its rate with a 429 in the protocol shape', async () => {
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const bearer = await infer(server.url, 'cls', [tensor], { headers: { authorization: `Bearer ${PREDICT}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.outputs.logits.shape).toEqual([1, 3]);
    const header = await infer(server.url, 'cls', [tensor], { binary: true, headers: { 'x-api-key': PREDICT } });
    expect(header.status).toBe(200);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await infer(server.url, 'cls', [tensor], { headers: { authorization: `Bearer ${PREDICT}` } }));
    const limited = answers.find((a) => a.status === 429);
    expect(limited).toBeDefined();
    expect(Object.keys(limited!.json)).toEqual(['error']);
    expect(limited!.json.error).toContain('rate limit');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
