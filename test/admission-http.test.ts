import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer, ErrorAnswer, ModelListAnswer, ServingModelAnswer } from './helpers/answers.js';
import { solidImage } from './helpers/images.js';
import { rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

let repoDir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  repoDir = makeModelRepo({
    // Items wait up to a second for a fuller batch: two of them fill the queue meanwhile.
    held: rgbClassifierEntry({ batching: { maxBatchSize: 64, maxQueueDelayMs: 1000, waitWhenIdle: true, maxQueueSize: 2 } }),
    budget: rgbClassifierEntry({ batching: { maxBatchSize: 4, maxQueueDelayMs: 0, maxQueueWaitMs: 50 } }),
    nobudget: rgbClassifierEntry({ batching: { maxQueueWaitMs: 0 } }),
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
  base = server.url;
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const post = (model: string, body: NonNullable<RequestInit['body']>) =>
  fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
const detail = async (model: string) => (await (await fetch(`${base}/v1/models/${model}`)).json()) as ServingModelAnswer;

describe('admission over HTTP', () => {
  it('refuses a request for a full model before decoding it: an undecodable body gets 503, not 415', async () => {
    const image = await solidImage('png', 8, 8, [255, 0, 0]);
    const garbage = Buffer.from('this is not an image at all');
    const waiting = [post('held', image), post('held', image)];
    for (let i = 0; (await detail('held')).statistics.queueLength < 2; i++) {
      if (i > 500) throw new Error('the two requests never reached the queue');
      await new Promise((r) => setTimeout(r, 2));
    }
    const refused = await post('held', garbage);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as ErrorAnswer).error).toMatchObject({ code: 'overloaded', message: 'queue is full (2 items waiting)' });
    for (const res of await Promise.all(waiting)) {
      expect(res.status).toBe(200);
      expect(((await res.json()) as Answer<ClassifyAnswer>).label).toBe('red');
    }
    // With room again the same body reaches the decoder, and its place is given back.
    const decoded = await post('held', garbage);
    expect(decoded.status).toBe(415);
    expect((await detail('held')).statistics).toMatchObject({ reserved: 0, queueLength: 0, rejectedQueueFull: 1 });
  });

  it('reports the budget, the measured throughput and the expected wait', async () => {
    const before = await detail('budget');
    expect(before.spec.batching.maxQueueWaitMs).toBe(50);
    expect(before.statistics).toMatchObject({ reserved: 0, throughputPerSec: null, expectedWaitMs: null, rejectedWaitBudget: 0 });
    const res = await post('budget', await solidImage('png', 8, 8, [0, 0, 255]));
    expect(((await res.json()) as Answer<ClassifyAnswer>).label).toBe('blue');
    const after = (await detail('budget')).statistics;
    expect(after.throughputPerSec).toBeGreaterThan(0);
    expect(after.expectedWaitMs).toBe(0);
  });

  it('fails to load a manifest whose budget is not positive, naming the field', async () => {
    const { models } = (await (await fetch(`${base}/v1/models`)).json()) as ModelListAnswer;
    const bad = models.find((m) => m.name === 'nobudget')!;
    expect(bad.state).toBe('failed');
    expect(bad.error).toMatch(/batching\.maxQueueWaitMs: /);
  });
});
