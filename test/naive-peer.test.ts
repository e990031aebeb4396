import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { repoRoot, startTestServer } from './helpers/server.js';

/** The benchmark's comparison server (bench/naive-server.ts) must give sightline's answers, or the comparison is void. */
const classifier = linearClassifier({
  classes: 3,
  weights: [
    [2, -1, 0.5],
    [0, 1, -2],
    [1, 0.25, 3],
  ],
  bias: [0.1, -0.2, 0.3],
});
const repoDir = makeModelRepo({
  cls: {
    onnx: classifier.bytes,
    manifest: { task: 'classify', input: { ...plainInput, colorOrder: 'BGR', mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.4] }, head: { labels: ['a', 'b', 'c'] } },
  },
});

let server: Awaited<ReturnType<typeof startTestServer>>;
let peer: ChildProcess;
let peerPort: number;

beforeAll(async () => {
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
  await server.modelsLoaded;
  peer = spawn(process.execPath, [path.join(repoRoot, 'dist', 'bench', 'naive-server.js'), repoDir, 'cls'], { stdio: ['ignore', 'pipe', 'inherit'] });
  peerPort = await new Promise<number>((resolve, reject) => {
    peer.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    peer.once('exit', (code) => reject(new Error(`naive-server exited with ${code}`)));
  });
});
afterAll(async () => {
  peer?.kill('SIGTERM');
  await server?.close();
});

const predict = async (base: string, model: string, body: Buffer) => {
  const res = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('naive peer', () => {
  it('answers one image exactly as sightline does (same pre-processing and head), latencies aside', async () => {
    // Noise at the model's own size: both servers fill the tensor from the same decoded pixels.
    const raw = Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 7919) % 256));
    const png = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } })
      .png()
      .toBuffer();
    const ours = await predict(server.url, 'cls', png);
    const theirs = await predict(`http://127.0.0.1:${peerPort}`, 'cls', png);
    expect(ours.status).toBe(200);
    expect(theirs.status).toBe(200);
    const { latencyMs: a, batchSize: _b1, ...ourAnswer } = ours.body;
    const { latencyMs: b, batchSize: _b2, ...theirAnswer } = theirs.body;
    expect(theirAnswer).toEqual(ourAnswer);
    expect(Object.keys(b as object)).toEqual(Object.keys(a as object));
    expect(ourAnswer.label).toBeDefined();
  });

  it('refuses an unknown model and an undecodable body with sightline-shaped errors', async () => {
    const unknown = await predict(`http://127.0.0.1:${peerPort}`, 'nope', Buffer.from('x'));
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'not_found' } });
    const garbage = await predict(`http://127.0.0.1:${peerPort}`, 'cls', Buffer.from('not an image'));
    expect(garbage.status).toBe(422);
    expect(garbage.body).toMatchObject({ error: { code: 'undecodable_image' } });
  });
});
