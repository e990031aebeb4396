import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { notFound, overloaded, SightlineError } from '../dist/src/errors.js';
import { formatLogLine } from '../dist/src/log-format.js';
import { createLogger } from '../dist/src/logger.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { repoRoot, startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const started: Server[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

/** The local wall-clock time of an ISO timestamp as the formatter prints it. */
const clock = (iso: string) => {
  const d = new Date(iso);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
};

describe('terminal log format', () => {
  const time = '2026-03-10T08:04:05.123Z';
  /** A line as pino writes it: level, time, then the fields and message. */
  const pinoLine = (level: number, msg: string, fields: Record<string, unknown>) => JSON.stringify({ level, time, ...fields, msg });

  it('writes time, level, message, then the fields as key=value', () => {
    const line = pinoLine(30, 'request', { service: 'sightline', reqId: 'r-1', method: 'GET', path: '/v1/models', status: 200, ms: 1.25 });
    expect(formatLogLine(line, { colour: false })).toBe(`${clock(time)} INFO  request reqId=r-1 method=GET path=/v1/models status=200 ms=1.25\n`);
  });

  it('quotes strings with spaces, writes objects as JSON, and colours the level when asked', () => {
    const line = pinoLine(40, 'closing slow WebSocket consumer', { reason: 'too slow', topics: ['a', 'b'], limit: null });
    expect(formatLogLine(line, { colour: false })).toBe(`${clock(time)} WARN  closing slow WebSocket consumer reason="too slow" topics=["a","b"] limit=null\n`);
    expect(formatLogLine(line, { colour: true })).toBe(
      `${clock(time)} \x1b[33mWARN \x1b[0m closing slow WebSocket consumer reason="too slow" topics=["a","b"] limit=null\n`,
    );
  });

  it('puts an error last, with its stack indented below', () => {
    const line = pinoLine(50, 'unhandled error in route', { route: '/x', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)' } });
    expect(formatLogLine(line, { colour: false })).toBe(
      `${clock(time)} ERROR unhandled error in route route=/x err=boom\n    Error: boom\n        at f (a.js:1:1)\n`,
    );
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain text\n', { colour: false })).toBe('plain text\n');
  });
});

describe('createLogger', () => {
  it('writes readable lines when pretty', () => {
    const out: string[] = [];
    const logger = createLogger('info', { pretty: true, colour: false, out: { write: (t: string) => out.push(t) } });
    logger.debug('hidden');
    logger.info({ model: 'cls', batchSize: 4 }, 'batch done');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}batch done model=cls batchSize=4\n$/);
  });

  const run = (code: string, tty: boolean) =>
    promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', `${tty ? "Object.defineProperty(process.stdout, 'isTTY', { value: true });" : ''}${code}`],
      {
        cwd: repoRoot,
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      },
    );
  const script =
    `const { createLogger } = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'logger.js'))}); const log = ` +
    `createLogger('info'); log.info({ status: 200 }, 'hello'); log.flush();`;

  it('writes JSON lines when stdout is not a terminal', async () => {
    const { stdout } = await run(script, false);
    const entry = JSON.parse(stdout) as Record<string, unknown>;
    expect({ ...entry, time: typeof entry.time }).toEqual({ level: 30, time: 'string', service: 'sightline', status: 200, msg: 'hello' });
  });

  it('writes readable lines when stdout is a terminal', async () => {
    const { stdout } = await run(script, true);
    expect(stdout).toMatch(/^\d\d:\d\d:\d\d INFO {2}hello status=200\n$/);
  });
});

describe('access log', () => {
  it('has one line per request with request id, route, model, status and durations', async () => {
    const repo = makeModelRepo({
      cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
    });
    const lines: string[] = [];
    const server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo }, { logger: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }) });
    started.push(server);
    await server.modelsLoaded;
    const png = await solidImage('png', 8, 8, [255, 0, 0]);
    const res = await fetch(`${server.url}/v1/models/cls/predict`, {
      method: 'POST',
      body: new Uint8Array(png),
      headers: { 'content-type': 'image/png', 'x-request-id': 'trace-42' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-42');
    await expect.poll(() => lines.filter((l) => l.includes('"reqId":"trace-42"')).length).toBe(1);
    const entry = JSON.parse(lines.find((l) => l.includes('"reqId":"trace-42"'))!) as Record<string, unknown>;
    expect(entry).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: expect.any(Number),
      hostname: expect.any(String),
      replica: expect.any(String),
      reqId: 'trace-42',
      method: 'POST',
      path: '/v1/models/cls/predict',
      route: '/v1/models/:name/predict',
      status: 200,
      ms: expect.any(Number),
      bytesIn: png.byteLength,
      bytesOut: expect.any(Number),
      model: 'cls',
      batchSize: 1,
      msg: 'request',
    });
    expect(entry.ms as number).toBeGreaterThan(0);
  });
});

describe('error stacks', () => {
  it('keeps no stack frames for expected answers and keeps them for faults', () => {
    const frames = (err: Error) => (err.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at ')).length;
    const limit = Error.stackTraceLimit;
    expect(frames(notFound('no such thing'))).toBe(0);
    expect(frames(overloaded('queue full'))).toBe(0);
    expect(frames(new SightlineError(409, 'conflict', 'taken'))).toBe(0);
    expect(frames(new SightlineError(500, 'inference_failed', 'broke'))).toBeGreaterThan(0);
    // Constructing an expected error leaves the process-wide limit as it was.
    expect(Error.stackTraceLimit).toBe(limit);
    expect(frames(new Error('plain'))).toBeGreaterThan(0);
  });

  it('logs a route bug with its stack and answers 500, and logs no error for a 404 or 503', async () => {
    const lines: string[] = [];
    const server = await startTestServer(
      {},
      {
        logger: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
        extraRoutes: [
          {
            method: 'GET',
            path: '/t/bug',
            handler: () => {
              throw new TypeError('boom');
            },
          },
          {
            method: 'GET',
            path: '/t/busy',
            handler: () => {
              throw overloaded('try later');
            },
          },
        ],
      },
    );
    started.push(server);
    const bug = await fetch(`${server.url}/t/bug`, { headers: { 'x-request-id': 'bug-1' } });
    expect(bug.status).toBe(500);
    expect(await bug.json()).toEqual({ error: { code: 'internal', message: 'internal server error' } });
    const busy = await fetch(`${server.url}/t/busy`, { headers: { 'x-request-id': 'busy-1' } });
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('1');
    expect(await busy.json()).toEqual({ error: { code: 'overloaded', message: 'try later' } });
    expect((await fetch(`${server.url}/nowhere`, { headers: { 'x-request-id': 'missing-1' } })).status).toBe(404);
    await expect.poll(() => lines.filter((l) => l.includes('"msg":"request"')).length).toBe(3);
    const entries = lines.map((l) => JSON.parse(l) as { level: number; msg: string; reqId?: string; err?: { stack?: string; message?: string } });
    const errors = entries.filter((e) => e.level >= 50);
    expect(errors).toHaveLength(1);
    expect(errors[0].reqId).toBe('bug-1');
    expect(errors[0].err?.message).toBe('boom');
    expect(errors[0].err?.stack).toMatch(/\n\s+at /);
  });
});
