import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvaluateCommand } from '../dist/src/evaluation/evaluate-command.js';
import { writeSolidDataset } from './helpers/evaluations.js';
import { rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { repoRoot, startTestServer } from './helpers/server.js';

const run = promisify(execFile);
const main = path.join(repoRoot, 'dist', 'src', 'main.js');

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let repo: string;
let dataset: string;

/** Collects what a command writes; not a terminal, so progress comes as plain lines. */
function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, env: {}, pollMs: 20 } };
}

beforeAll(async () => {
  repo = makeModelRepo({
    cls: rgbClassifierEntry({ softmax: true }),
  });
  const parent = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-sets-'));
  dataset = path.join(parent, 'colours');
  await writeSolidDataset(dataset, [
    ['red/1.png', [255, 0, 0]],
    ['red/2.png', [250, 0, 0]],
    ['red/odd.png', [0, 255, 0]],
    ['green/1.png', [0, 255, 0]],
    ['blue/1.png', [0, 0, 255]],
  ]);
  writeFileSync(path.join(dataset, 'blue', 'broken.png'), 'not an image');
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATASETS_DIR: parent });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

describe('sightline evaluate', () => {
  it('against a running server: the table, the JSON and Markdown reports, exit 0 when the gate holds', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'sightline-cli-out-'));
    const c = io();
    const code = await runEvaluateCommand(
      [
        '--url',
        server.url,
        '--model',
        'cls',
        '--dataset',
        dataset,
        '--min-accuracy',
        '0.75',
        '--json',
        path.join(out, 'e.json'),
        '--markdown',
        path.join(out, 'e.md'),
      ],
      c.io,
    );
    const stdout = c.out.join('');
    expect(code, c.err.join('')).toBe(0);
    expect(stdout).toContain('sightline evaluate: cls (version 1, classify) on colours (imagefolder, 6 images, 1 problem)');
    expect(stdout).toMatch(/accuracy\s+0\.8000/);
    expect(stdout).toMatch(/red\s+3\s+1\.0000\s+0\.6667\s+0\.8000/);
    expect(stdout).toContain('blue/broken.png: unreadable image');
    expect(stdout).toContain('--min-accuracy 0.75: accuracy 0.8000 passed');
    expect(c.err.join('')).toContain('6/6 images, succeeded');
    const json = JSON.parse(readFileSync(path.join(out, 'e.json'), 'utf8'));
    expect(json).toMatchObject({
      status: 'succeeded',
      dataset: 'colours',
      summary: { accuracy: 0.8 },
      gates: [{ flag: '--min-accuracy', value: 0.8, passed: true }],
    });
    expect(json.report.metrics.confusion.matrix).toEqual([
      [2, 1, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const md = readFileSync(path.join(out, 'e.md'), 'utf8');
    expect(md).toContain('| label | support | precision | recall | F1 |');
    expect(md).toContain('| red | 3 | 1.0000 | 0.6667 | 0.8000 |');
  });

  it('exit 1 when a gate is missed; a folder on the server by name', async () => {
    const c = io();
    const code = await runEvaluateCommand(
      ['--url', server.url, '--model', 'cls', '--server-dataset', 'colours', '--min-accuracy', '0.9', '--min-f1', '0.5'],
      c.io,
    );
    expect(code).toBe(1);
    expect(c.out.join('')).toContain('--min-accuracy 0.9: accuracy 0.8000 MISSED');
    expect(c.out.join('')).toContain('--min-f1 0.5: macro F1 0.8222 passed');
  });

  it('exit 2 on bad arguments and on a server that refuses', async () => {
    const cases: Array<[string[], string]> = [
      [['--model', 'cls'], 'give --dataset DIR (a local folder) or --server-dataset NAME, one of them'],
      [['--model', 'cls', '--dataset', dataset, '--min-accuracy', 'high'], '--min-accuracy: expected a number of 0 or more, got "high"'],
      [['--model', 'cls', '--dataset', dataset, '--min-accuracy', '0.5', '--max-cer', '0.1'], 'gates of different tasks: --min-accuracy, --max-cer'],
      [['--model', 'cls', '--server-dataset', 'colours'], '--server-dataset names a folder on a running server: give --url too'],
      [['--model', 'cls', '--dataset', dataset, '--colour', 'red'], 'unknown argument "--colour"'],
      [['--url', server.url, '--model', 'nope', '--dataset', dataset], 'POST /v1/models/nope/evaluate answered 404 model "nope" not found'],
      [
        ['--url', server.url, '--model', 'cls', '--dataset', dataset, '--max-cer', '0.1'],
        '--max-cer gates a text-recognize or ocr figure, but cls is a classify model',
      ],
      [['--url', 'http://127.0.0.1:1', '--model', 'cls', '--dataset', dataset], 'no answer from http://127.0.0.1:1'],
    ];
    for (const [argv, message] of cases) {
      const c = io();
      expect(await runEvaluateCommand(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err.join(''), argv.join(' ')).toContain(`sightline evaluate: ${message}`);
    }
  });

  it('in-process: starts the named model of SIGHTLINE_MODELS_DIR itself, logs on stderr, the table on stdout', async () => {
    const env = { ...process.env, SIGHTLINE_MODELS_DIR: repo };
    const { stdout, stderr } = await run(process.execPath, [main, 'evaluate', '--model', 'cls', '--dataset', dataset, '--min-accuracy', '0.8'], { env });
    expect(stdout.startsWith('sightline evaluate: cls (version 1, classify) on colours')).toBe(true);
    expect(stdout).toContain('--min-accuracy 0.8: accuracy 0.8000 passed');
    expect(stderr).toContain('6/6 images, succeeded');
    const missed = await run(process.execPath, [main, 'evaluate', '--model', 'cls', '--dataset', dataset, '--min-accuracy', '0.81'], { env }).catch(
      (e: { code: number; stdout: string }) => e,
    );
    expect((missed as { code: number }).code).toBe(1);
  });
});
