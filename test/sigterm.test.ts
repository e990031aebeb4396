import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { RawAnswer } from '../dist/src/heads/index.js';
import type { Answer, ErrorAnswer } from './helpers/answers.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { stallingModel } from './helpers/onnx-model.js';
import { repoRoot } from './helpers/server.js';

const main = path.join(repoRoot, 'dist', 'src', 'main.js');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `sightline serve` in a child process, with only the settings given (SQLite in a fresh data dir). */
async function spawnServer(modelsDir: string, extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('SIGHTLINE_')));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sightline-sigterm-'));
  const child = spawn(process.execPath, [main, 'serve', '--port', '0', '--data-dir', dataDir, '--models-dir', modelsDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...env, SIGHTLINE_SHUTDOWN_TIMEOUT_MS: '20000', ...extraEnv },
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not log its port within 20 s: ${out}`)), 20_000);
    const look = () => {
      const m = /"port":(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', look);
      resolve(Number(m[1]));
    };
    child.stdout.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
  return { child, base: `http://127.0.0.1:${port}`, output: () => out };
}

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/health/ready`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server never became ready');
}

it('answers every predict in flight on SIGTERM, then exits 0', async () => {
  // One instance, one image per batch, each slow image about a second of CPU: requests pile up in
  // the queue and on the worker when the signal comes.
  const modelsDir = makeModelRepo({
    slow: {
      onnx: stallingModel({ magic: 255, side: 1200 }).bytes,
      manifest: { task: 'raw', input: { ...plainInput, scale: 1 }, batching: { maxBatchSize: 1, maxQueueDelayMs: 0 }, instances: 1, intraOpThreads: 1 },
    },
  });
  const server = await spawnServer(modelsDir);
  await waitReady(server.base);
  const slow = await solidImage('png', 8, 8, [255, 255, 255]);
  const quick = await solidImage('png', 8, 8, [7, 8, 9]);
  const post = (body: Buffer) =>
    fetch(`${server.base}/v1/models/slow/predict`, { method: 'POST', body, headers: { 'content-type': 'image/png' } }).then(
      async (res) => ({ status: res.status, body: (await res.json()) as Answer<RawAnswer> | ErrorAnswer }),
      (err: Error) => ({ status: 0, body: { error: err.message } }),
    );
  const inFlight = [post(slow), post(quick), post(slow), post(quick)];
  // Let the requests reach the server and the first run start before the signal.
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    server.child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  server.child.kill('SIGTERM');
  // Once the signal is handled the listener is gone: new connections are refused.
  await new Promise((r) => setTimeout(r, 200));
  await expect(fetch(`${server.base}/health/live`)).rejects.toThrow();

  const answers = await Promise.all(inFlight);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  // The first pixels of an answer; anything else is shown as it came.
  const firstPixels = ({ body }: (typeof answers)[number]) => ('outputs' in body ? body.outputs.output.data.slice(0, 3) : body);
  expect(firstPixels(answers[1])).toEqual([7, 7, 7]);
  expect(firstPixels(answers[0])).toEqual([255, 255, 255]);
  expect(await exited).toEqual({ code: 0, signal: null });
  expect(server.output()).toMatch(/signal received/);
});

it('drains on SIGTERM: readiness fails at once while every request is still served, then it stops accepting and exits 0', async () => {
  const modelsDir = makeModelRepo({
    quick: {
      onnx: stallingModel({ magic: 255, side: 8 }).bytes,
      manifest: { task: 'raw', input: { ...plainInput, scale: 1 }, batching: { maxBatchSize: 1, maxQueueDelayMs: 0 }, instances: 1, intraOpThreads: 1 },
    },
  });
  const server = await spawnServer(modelsDir, { SIGHTLINE_DRAIN_MS: '3000' });
  await waitReady(server.base);
  const image = await solidImage('png', 8, 8, [7, 8, 9]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    server.child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const signalled = Date.now();
  server.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));

  // Inside the drain: not ready (with the reason), but alive, and predict still answers, each on a closed connection.
  const ready = await fetch(`${server.base}/health/ready`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as ErrorAnswer).error).toEqual({
    code: 'not_ready',
    message: 'draining: this replica is shutting down',
    reasons: ['draining: this replica is shutting down'],
  });
  const live = await fetch(`${server.base}/health/live`);
  expect(live.status).toBe(200);
  expect(live.headers.get('connection')).toBe('close');
  const predicted = await fetch(`${server.base}/v1/models/quick/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  expect(predicted.status).toBe(200);
  expect(((await predicted.json()) as Answer<RawAnswer>).outputs.output.data.slice(0, 3)).toEqual([7, 7, 7]);

  const { code, signal, at } = await exited;
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(at - signalled).toBeGreaterThanOrEqual(3000);
  expect(server.output()).toMatch(/draining: \/health\/ready answers 503 for 3000 ms/);
});

it('skips the drain on SIGINT: a person at a terminal wants it stopped now', async () => {
  const server = await spawnServer(makeModelRepo({}), { SIGHTLINE_DRAIN_MS: '60000' });
  await waitReady(server.base);
  // Signal handlers are installed once start-up has finished, a moment after readiness.
  await new Promise((r) => setTimeout(r, 1000));
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  const signalled = Date.now();
  server.child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(Date.now() - signalled).toBeLessThan(30_000);
  expect(server.output()).not.toMatch(/draining/);
});
