import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { repoRoot, startTestServer } from './helpers/server.js';
import { ProgressLine } from '../dist/src/loadgen/progress-line.js';
import { serverTiming } from '../dist/src/loadgen/server-timing.js';

/** `sightline bench` run as users run it (the built CLI, a child process) against a real server. */
const repoDir = makeModelRepo({
  cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
});
const work = mkdtempSync(path.join(os.tmpdir(), 'sightline-bench-cli-'));
const imagePath = path.join(work, 'red.png');

let server: Awaited<ReturnType<typeof startTestServer>>;
beforeAll(async () => {
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
  await server.modelsLoaded;
  writeFileSync(imagePath, await solidImage('png', 16, 16, [200, 10, 10]));
});
afterAll(async () => {
  await server?.close();
});

/** Runs the CLI without blocking this process's event loop (the server under test lives in it). */
function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'src', 'main.js'), 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const target = () => ['--url', server.url, '--model', 'cls', '--image', imagePath, '--warmup', '0'];

describe('sightline bench', () => {
  it('runs closed loop per concurrency, prints the table and a progress line, writes the JSON, and exits 0 when budgets hold', async () => {
    const json = path.join(work, 'closed.json');
    const r = await bench([...target(), '--concurrency', '1,3', '--duration', '700ms', '--p99-ms', '60000', '--min-throughput', '0.5', '--json', json]);
    expect(r.stderr).toContain('c=1  done:');
    expect(r.stderr).toContain('c=3  done:');
    // stderr is a pipe here, not a terminal: plain lines, nothing rewritten in place.
    expect(r.stderr).not.toContain('\r');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('load '))!;
    for (const column of ['requests', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'queue p50', 'queue p99', 'infer p50', 'server p50', 'batch'])
      expect(header).toContain(column);
    expect(lines.some((l) => /^c=1\s+\d+\s+0\s+\d/.test(l))).toBe(true);
    expect(lines.some((l) => /^c=3\s+\d+\s+0\s+\d/.test(l))).toBe(true);
    expect(r.stdout).toContain('budgets (p99 ≤ 60000 ms, throughput ≥ 0.5 req/s, errors ≤ 0.00%): met');

    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report).toMatchObject({
      tool: 'sightline bench',
      url: `${server.url}/`,
      model: 'cls',
      image: { path: imagePath, mediaType: 'image/png' },
      mode: 'closed',
      durationSec: 0.7,
      budgets: { p99Ms: 60000, minThroughput: 0.5, maxErrorRate: 0 },
      passed: true,
    });
    expect(report.steps.map((s: { concurrency: number }) => s.concurrency)).toEqual([1, 3]);
    for (const step of report.steps) {
      expect(step.rate).toBeNull();
      expect(step.failed).toBe(0);
      expect(step.ok).toBe(step.requests);
      expect(step.statuses).toEqual({ 200: step.requests });
      expect(step.throughput).toBeGreaterThan(0);
      expect(step.latencyMs.p50).toBeLessThanOrEqual(step.latencyMs.p90);
      expect(step.latencyMs.p90).toBeLessThanOrEqual(step.latencyMs.p99);
      // The server's split is read from its answers: its total covers queue and inference.
      expect(step.server.totalMs.p50).toBeGreaterThan(0);
      expect(step.server.inferMs.p50).toBeGreaterThan(0);
      expect(step.server.queueMs.p50).toBeGreaterThanOrEqual(0);
      expect(step.server.totalMs.max).toBeLessThanOrEqual(step.latencyMs.max);
      expect(step.server.meanBatchSize).toBeGreaterThanOrEqual(1);
      expect(step.budget).toEqual({ passed: true, missed: [] });
    }
  });

  it('exits 1 and names the step and the budget when one is missed', async () => {
    const json = path.join(work, 'missed.json');
    const r = await bench([...target(), '--concurrency', '2', '--duration', '500ms', '--min-throughput', '1e9', '--json', json]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/MISSED\n {2}c=2: throughput [\d.]+ req\/s < 1000000000 req\/s/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.passed).toBe(false);
    expect(report.steps[0].budget.passed).toBe(false);

    const p99 = await bench([...target(), '--duration', '300ms', '--p99-ms', '0.0001']);
    expect(p99.code).toBe(1);
    expect(p99.stdout).toMatch(/c=1: p99 [\d.]+ ms > 0\.0001 ms/);
  });

  it('runs open loop at --rate', async () => {
    const json = path.join(work, 'open.json');
    const r = await bench([...target(), '--rate', '40', '--duration', '1s', '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rate=40\/s\s+\d+\s+0\s/m);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.mode).toBe('open');
    expect(report.steps).toHaveLength(1);
    expect(report.steps[0]).toMatchObject({ rate: 40, concurrency: null, failed: 0 });
    expect(report.steps[0].requests).toBeGreaterThan(5);
  });

  it('exits 2 on bad arguments, naming the problem, and when the target cannot answer', async () => {
    const cases: [string[], string][] = [
      [['--model', 'cls', '--image', imagePath], '--url is required'],
      [[...target(), '--concurrency', '0'], '--concurrency: expected whole numbers'],
      [[...target(), '--duration', 'soon'], '--duration: expected a duration'],
      [[...target(), '--rate', '5', '--concurrency', '2'], 'not both'],
      [[...target(), '--p99-ms', '-3'], '--p99-ms: expected a positive number'],
      [[...target(), '--frobnicate', '1'], 'unknown argument "--frobnicate"'],
      [['--url', 'https://example.test', '--model', 'cls', '--image', imagePath], 'only http://'],
      [['--url', server.url, '--model', 'cls', '--image', path.join(work, 'missing.png')], 'cannot read'],
      [['--url', server.url, '--model', 'nope', '--image', imagePath, '--duration', '1s'], 'answered 404'],
    ];
    for (const [args, message] of cases) {
      const r = await bench(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe('');
    }
  });

  it('prints its own help', async () => {
    const r = await bench(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: sightline bench --url URL --model NAME --image FILE');
    expect(r.stdout).toContain('--min-throughput');
  });

  it('rewrites one progress line on a terminal and writes plain lines elsewhere', () => {
    const written: string[] = [];
    const tty = new ProgressLine({ isTTY: true, write: (t: string) => written.push(t) });
    tty.update('c=4  1.0/10s');
    tty.update('c=4  1.3/10s');
    tty.done('c=4  done');
    expect(written).toEqual(['\rc=4  1.0/10s\x1b[K', '\rc=4  1.3/10s\x1b[K', '\rc=4  done\x1b[K\n']);

    written.length = 0;
    const plain = new ProgressLine({ isTTY: false, write: (t: string) => written.push(t) });
    plain.update('c=4  0.3/10s');
    plain.done('c=4  done');
    expect(written).toEqual(['c=4  done\n']);
  });

  it("reads the server's split from the answer's own top-level latencyMs", () => {
    const body = Buffer.from(
      JSON.stringify({
        model: 'm',
        label: 'x',
        meta: { latencyMs: { queueMs: 99, inferMs: 99, totalMs: 99 }, batchSize: 9 },
        batchSize: 3,
        latencyMs: { queueMs: 0.5, inferMs: 1.25, totalMs: 2 },
      }),
    );
    expect(serverTiming(body)).toEqual({ queueMs: 0.5, inferMs: 1.25, totalMs: 2, batchSize: 3 });
    expect(serverTiming(Buffer.from('{"error":{"code":"x","message":"y"}}'))).toBeUndefined();
  });
});
