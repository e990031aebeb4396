import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { failingModel, linearClassifier, stallingModel } from './helpers/onnx-model.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { serveModelRepo } from './helpers/server.js';
import { loadManifest } from '../dist/src/engine/manifest.js';
import type { RawAnswer } from '../dist/src/heads/index.js';
import type { Answer, BatchOf, ErrorAnswer, FailedItem, ModelDetailAnswer, ServingModelAnswer } from './helpers/answers.js';
import { ModelVersion } from '../dist/src/engine/model-version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const labels = ['red', 'green', 'blue'];
const rawInput = { ...plainInput, scale: 1 };

const suite = serveModelRepo(() =>
  makeModelRepo({
    // One instance: the isolation test holds the run ledger so that eight images gather for it.
    fail: {
      onnx: failingModel({ magic: 255 }).bytes,
      manifest: { task: 'raw', input: rawInput, batching: { maxBatchSize: 8, maxQueueDelayMs: 300 }, instances: 1 },
    },
    stall: {
      onnx: stallingModel({ magic: 255, side: 3000 }).bytes,
      manifest: { task: 'raw', input: rawInput, batching: { maxBatchSize: 1, maxQueueDelayMs: 0, runTimeoutMs: 200 }, intraOpThreads: 1 },
    },
    fewlabels: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green'] } } },
    pair: {
      onnx: linearClassifier({ classes: 3 }).bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, instances: 2, intraOpThreads: 1 },
    },
  }),
);

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);
const post = (model: string, body: NonNullable<RequestInit['body']>, type = 'image/png') =>
  fetch(`${suite.url}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': type } });
const detail = async (model: string) => (await (await fetch(`${suite.url}/v1/models/${model}`)).json()) as ServingModelAnswer;

describe('a batch that fails in the runtime', () => {
  it('fails only the image that breaks it; the others get the answers they get alone', async () => {
    const colours: Array<[number, number, number]> = [
      [10, 20, 30],
      [40, 50, 60],
      [70, 80, 90],
      [255, 255, 255],
      [1, 2, 3],
      [100, 110, 120],
      [130, 140, 150],
      [5, 6, 7],
    ];
    const images = await Promise.all(colours.map((c) => png(c)));
    const alone: Answer<RawAnswer>[] = [];
    for (const [i, img] of images.entries()) if (i !== 3) alone[i] = (await (await post('fail', img)).json()) as Answer<RawAnswer>;
    const before = (await detail('fail')).statistics.batchSizeHistogram[8] ?? 0;

    // With every core's token held (as other models' runs would hold them), no batch can form:
    // the eight gather in the queue and go as one batch once the tokens are given back.
    const ledger = suite.server.models.ledger;
    const hold = ledger.tryAcquire(ledger.cores);
    expect(hold?.tokens).toBe(ledger.cores);
    const sent = Promise.all(images.map((img) => post('fail', img)));
    while ((await detail('fail')).statistics.queueLength < images.length) await new Promise((r) => setTimeout(r, 5));
    hold!.release();
    const together = await sent;
    const bodies = await Promise.all(together.map((r) => r.json()));
    const statuses = together.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 500, 200, 200, 200, 200]);
    // The statuses say which bodies are errors and which are answers.
    const failed = bodies[3] as ErrorAnswer;
    expect(failed.error.code).toBe('inference_failed');
    expect(failed.error.message).toMatch(/^model fail failed to run a batch: .*Gather/);
    for (const [i, body] of bodies.entries()) if (i !== 3) expect((body as Answer<RawAnswer>).outputs).toEqual(alone[i].outputs);
    // They really shared one batch of 8.
    expect((await detail('fail')).statistics.batchSizeHistogram[8]).toBe(before + 1);
  });

  it('answers a JSON batch [ok, bad, ok] with one error entry', async () => {
    const [ok1, bad, ok2] = await Promise.all([png([10, 20, 30]), png([255, 255, 255]), png([40, 50, 60])]);
    const res = await post('fail', JSON.stringify({ images: [ok1, bad, ok2].map((b) => b.toString('base64')) }), 'application/json');
    expect(res.status).toBe(200);
    const body = (await res.json()) as BatchOf<Answer<RawAnswer> | FailedItem>;
    expect(body.results).toHaveLength(3);
    const [first, failed, last] = body.results as [Answer<RawAnswer>, FailedItem, Answer<RawAnswer>];
    expect(first.outputs.output.data.slice(0, 1)).toEqual([10]);
    expect(failed.error.code).toBe('inference_failed');
    expect(last.outputs.output.data.slice(0, 1)).toEqual([40]);
  });
});

describe('a batch that never finishes', () => {
  it('fails with a retryable 503 at the run deadline, replaces the worker and serves the next request', async () => {
    const stuck = await post('stall', await png([255, 255, 255]));
    expect(stuck.status).toBe(503);
    expect(stuck.headers.get('retry-after')).toBe('1');
    const err = (await stuck.json()) as ErrorAnswer;
    expect(err.error.code).toBe('unavailable');
    expect(err.error.message).toMatch(/batch did not finish within 200 ms \(batching\.runTimeoutMs\)/);

    const next = await post('stall', await png([9, 8, 7]));
    expect(next.status).toBe(200);
    expect(((await next.json()) as Answer<RawAnswer>).outputs.output.data.slice(0, 1)).toEqual([9]);
    const stalled = await detail('stall');
    expect(stalled.state).toBe('ready');
    expect(stalled.statistics.workerRestarts).toBe(1);
  });
});

describe('workers killed while batches fail', () => {
  it('never takes the process down and every request is answered', async () => {
    const size = 512;
    const input = { ...plainInput, width: size, height: size, scale: 1 };
    const repo = makeModelRepo({
      fail: { onnx: failingModel({ inputShape: [3, size, size] }).bytes, manifest: { task: 'raw', input, batching: { maxBatchSize: 8, maxQueueDelayMs: 1 } } },
      cls: {
        onnx: linearClassifier({ classes: 3, inputShape: [3, size, size] }).bytes,
        manifest: { task: 'classify', input, head: { labels }, batching: { maxBatchSize: 8, maxQueueDelayMs: 1 } },
      },
    });
    writeFileSync(path.join(repo, 'bad.png'), await solidImage('png', size, size, [255, 255, 255]));
    writeFileSync(path.join(repo, 'good.png'), await solidImage('png', size, size, [10, 20, 30]));

    const child = spawn(process.execPath, [path.join(here, 'helpers', 'worker-kill-child.mjs'), repo, '6', 'terminate'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));

    expect({ code, signal, stderr: stderr.slice(-500) }).toEqual({ code: 0, signal: null, stderr: '' });
    const report = JSON.parse(stdout) as { statuses: Record<string, number>; after: number[] };
    // 0 would be a request left unanswered; 500 is the failing model's own error; 503 a batch whose worker was killed.
    expect(Object.keys(report.statuses).filter((s) => !['200', '500', '503'].includes(s))).toEqual([]);
    expect(report.after).toEqual([200, 500]);
  }, 180_000);
});

describe('loading', () => {
  it('is ready only when every instance has loaded; one that fails fails the load with its message', async () => {
    const good = new ModelVersion(loadManifest(path.join(suite.repoDir, 'pair')), 1);
    await good.start();
    expect(good.pool.infos()).toHaveLength(2);
    await good.pool.close();

    const broken = new ModelVersion(loadManifest(path.join(suite.repoDir, 'pair')), 1);
    broken.pool.threads[1].emit('error', new Error('out of memory while loading'));
    await expect(broken.start()).rejects.toThrow(/^instance 2 of 2: out of memory while loading$/);
    await broken.pool.close();
  });

  it('refuses a classify manifest whose labels do not match the model outputs, naming file and field', async () => {
    const failed = (await (await fetch(`${suite.url}/v1/models/fewlabels`)).json()) as ModelDetailAnswer;
    expect(failed.state).toBe('failed');
    expect(failed.error).toBe(`${suite.repoDir}/fewlabels/model.json: head.labels: 2 labels configured but output "logits" has 3 classes (dims [N, 3])`);
    const ready = await fetch(`${suite.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('model fewlabels failed to load');
  });
});
