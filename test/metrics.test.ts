import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import WebSocket from 'ws';
import { RequestMetrics } from '../dist/src/metrics/request-metrics.js';
import { solidImage } from './helpers/images.js';
import { rgbClassifierEntry } from './helpers/model-entries.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { failingModel } from './helpers/onnx-model.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) throw new Error(`not a sample value: ${text}`);
  return Number(text);
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad label set: {${text}}`);
    labels[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is HELP, TYPE or a sample of
 * a declared family; histogram buckets are cumulative and end with +Inf equal to _count.
 */
function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined => families.get(sample) ?? families.get(sample.replace(/_(bucket|sum|count)$/, ''));
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      if (families.has(m[1])) throw new Error(`family ${m[1]} declared twice`);
      families.set(m[1], { name: m[1], type: '', help: m[2], samples: [] });
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      const family = families.get(m[1]);
      if (!family || family.type !== '') throw new Error(`TYPE without HELP, or twice: ${line}`);
      family.type = m[2]!;
    } else if ((m = SAMPLE_LINE.exec(line))) {
      const family = familyOf(m[1]);
      if (!family) throw new Error(`sample of an undeclared family: ${line}`);
      if (m[1] !== family.name && !['histogram', 'summary'].includes(family.type)) throw new Error(`suffixed sample of a ${family.type}: ${line}`);
      family.samples.push({ name: m[1], labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]) });
    } else if (line !== '') {
      throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    }
  }
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of family.samples.filter((x) => x.name.endsWith('_bucket'))) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      const counts = buckets.map((b) => b.value);
      if (counts.some((c, i) => i > 0 && c < counts[i - 1])) throw new Error(`${family.name}${key}: buckets are not cumulative`);
      const last = buckets.at(-1)!;
      const count = family.samples.find((s) => s.name === `${family.name}_count` && JSON.stringify(s.labels) === key);
      if (last.labels.le !== '+Inf' || count?.value !== last.value) throw new Error(`${family.name}${key}: +Inf bucket differs from _count`);
    }
  }
  return families;
}

const repo = makeModelRepo({
  cls: rgbClassifierEntry({ batching: { maxBatchSize: 4, maxQueueDelayMs: 20 } }),
  slow: rgbClassifierEntry({ batching: { maxBatchSize: 8, maxQueueDelayMs: 3000, waitWhenIdle: true } }),
  fail: {
    onnx: failingModel({ magic: 255 }).bytes,
    manifest: { task: 'raw', input: { ...plainInput, scale: 1 }, batching: { maxBatchSize: 4, maxQueueDelayMs: 5 } },
  },
  nobatch: rgbClassifierEntry({ batching: { maxBatchSize: 1, maxQueueDelayMs: 0 } }),
});

let server: Server;
const sockets: WebSocket[] = [];
const others: Server[] = [];

beforeAll(async () => {
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  await server.modelsLoaded;
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await Promise.all([server?.close(), ...others.map((s) => s.close())]);
});

async function scrape(target: Server = server): Promise<Map<string, Family>> {
  const res = await fetch(`${target.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(await res.text());
}

/**
 * One sample's value (0 when the series does not exist yet: a counter never incremented). The replica
 * label is on every series (a test of its own checks it), so `labels` leaves it out.
 */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  if (!family) throw new Error(`no metric family for ${name}`);
  const s = family.samples.find((x) => {
    const { replica: _replica, ...own } = x.labels;
    return x.name === name && Object.entries(labels).every(([k, v]) => own[k] === v) && Object.keys(own).length === Object.keys(labels).length;
  });
  return s?.value ?? 0;
}

const metric = async (name: string, labels: Record<string, string> = {}, target: Server = server) => value(await scrape(target), name, labels);

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);
const predict = async (model: string, rgb: [number, number, number]) =>
  fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: new Uint8Array(await png(rgb)), headers: { 'content-type': 'image/png' } });

interface Statistics {
  dispatchedBatches: number;
  dispatchedItems: number;
  failedBatches: number;
  workerRestarts: number;
}
const statistics = async (model: string) => ((await (await fetch(`${server.url}/v1/models/${model}`)).json()) as { statistics: Statistics }).statistics;

describe('/metrics', () => {
  it('is Prometheus text with every instrument, typed', async () => {
    const families = await scrape();
    const types = Object.fromEntries(
      [...families.values()]
        .filter((f) => f.name.startsWith('sightline_') && !f.name.startsWith('sightline_nodejs_') && !f.name.startsWith('sightline_process_'))
        .map((f) => [f.name, f.type]),
    );
    expect(types).toEqual({
      sightline_http_requests_total: 'counter',
      sightline_http_request_duration_seconds: 'histogram',
      sightline_queue_duration_seconds: 'histogram',
      sightline_batch_size: 'histogram',
      sightline_inference_duration_seconds: 'histogram',
      sightline_inference_failures_total: 'counter',
      sightline_worker_restarts_total: 'counter',
      sightline_ws_slow_consumers_closed_total: 'counter',
      sightline_db_commit_duration_seconds: 'histogram',
      sightline_rate_limited_total: 'counter',
      sightline_queue_length: 'gauge',
      sightline_batches_in_flight: 'gauge',
      sightline_ws_connections: 'gauge',
    });
    // Node's own figures, event-loop delay among them.
    expect(families.get('sightline_nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(families.get('sightline_nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
    expect(value(families, 'sightline_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
  });

  it('labels every series with the replica that exported it', async () => {
    const families = await scrape();
    const replicas = new Set([...families.values()].flatMap((f) => f.samples.map((s) => s.labels.replica)));
    expect([...replicas]).toEqual([server.config.replicaId]);
    expect(server.config.replicaId).toBe(`${os.hostname()}-${process.pid}`);
  });

  it('moves the request counter and duration histogram by exactly the requests made, per route and status', async () => {
    const before = await scrape();
    for (let i = 0; i < 5; i++) await (await fetch(`${server.url}/v1/models`)).arrayBuffer();
    for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/v1/models/none-such`)).arrayBuffer();
    await (await fetch(`${server.url}/no/route/here`)).arrayBuffer();
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('sightline_http_requests_total', { route: '/v1/models', method: 'GET', status: '200' })).toBe(5);
    expect(delta('sightline_http_requests_total', { route: '/v1/models/:name', method: 'GET', status: '404' })).toBe(3);
    expect(delta('sightline_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' })).toBe(1);
    expect(delta('sightline_http_request_duration_seconds_count', { route: '/v1/models', method: 'GET' })).toBe(5);
    expect(delta('sightline_http_request_duration_seconds_count', { route: '/v1/models/:name', method: 'GET' })).toBe(3);
  });

  it('keeps one duration series per route and method across statuses, and one count per status', async () => {
    const before = await scrape();
    const t0 = performance.now();
    for (let i = 0; i < 2; i++) await (await fetch(`${server.url}/v1/models/cls`)).arrayBuffer();
    await (await fetch(`${server.url}/v1/models/none-such`)).arrayBuffer();
    await (await fetch(`${server.url}/v1/models/cls`, { method: 'HEAD' })).arrayBuffer();
    await (await fetch(`${server.url}/v1/models/cls`, { method: 'PATCH' })).arrayBuffer();
    const wallSeconds = (performance.now() - t0) / 1000;
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    const route = '/v1/models/:name';
    expect(delta('sightline_http_requests_total', { route, method: 'GET', status: '200' })).toBe(2);
    expect(delta('sightline_http_requests_total', { route, method: 'GET', status: '404' })).toBe(1);
    expect(delta('sightline_http_requests_total', { route, method: 'HEAD', status: '200' })).toBe(1);
    expect(delta('sightline_http_requests_total', { route: 'unmatched', method: 'PATCH', status: '405' })).toBe(1);
    expect(delta('sightline_http_request_duration_seconds_count', { route, method: 'GET' })).toBe(3);
    expect(delta('sightline_http_request_duration_seconds_count', { route, method: 'HEAD' })).toBe(1);
    expect(delta('sightline_http_request_duration_seconds_bucket', { route, method: 'GET', le: '+Inf' })).toBe(3);
    // Each request took well under 10 s, so the 10 s bucket holds all three, and the sum is real time.
    expect(delta('sightline_http_request_duration_seconds_bucket', { route, method: 'GET', le: '10' })).toBe(3);
    const sum = delta('sightline_http_request_duration_seconds_sum', { route, method: 'GET' });
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(wallSeconds);
  });

  it('counts each batch the engine ran: batch-size count equals dispatchedBatches, its sum the images', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => predict('cls', [i * 20, 0, 0])));
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    const stats = await statistics('cls');
    const families = await scrape();
    expect(stats.dispatchedItems).toBe(10);
    expect(value(families, 'sightline_batch_size_count', { model: 'cls' })).toBe(stats.dispatchedBatches);
    expect(value(families, 'sightline_batch_size_sum', { model: 'cls' })).toBe(10);
    expect(value(families, 'sightline_inference_duration_seconds_count', { model: 'cls' })).toBe(stats.dispatchedBatches);
    expect(value(families, 'sightline_queue_duration_seconds_count', { model: 'cls' })).toBe(10);
    // At most 4 per batch, so at least 3 batches.
    expect(stats.dispatchedBatches).toBeGreaterThanOrEqual(3);
    expect(value(families, 'sightline_batch_size_bucket', { model: 'cls', le: '4' })).toBe(stats.dispatchedBatches);
  });

  it('shows requests waiting in a model queue, then none', async () => {
    expect(await metric('sightline_queue_length', { model: 'slow' })).toBe(0);
    const pending = Promise.all([predict('slow', [255, 0, 0]), predict('slow', [0, 255, 0]), predict('slow', [0, 0, 255])]);
    // The batch waits 3 s for more images: the three sit in the queue meanwhile.
    await expect.poll(() => metric('sightline_queue_length', { model: 'slow' }), { timeout: 2500, interval: 20 }).toBe(3);
    expect((await pending).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await metric('sightline_queue_length', { model: 'slow' })).toBe(0);
    expect(await metric('sightline_batch_size_count', { model: 'slow' })).toBe(1);
    expect(await metric('sightline_batch_size_sum', { model: 'slow' })).toBe(3);
  });

  it('counts failed batches and replaced workers', async () => {
    expect((await predict('fail', [255, 255, 255])).status).toBe(500);
    expect(await metric('sightline_inference_failures_total', { model: 'fail' })).toBe((await statistics('fail')).failedBatches);
    expect(await metric('sightline_inference_failures_total', { model: 'fail' })).toBe(1);

    // What Node reports when an uncaught exception ends a worker thread: the pool replaces the worker.
    server.models.serving('nobatch').pool.threads[0].emit('error', new Error('worker crashed'));
    await expect.poll(() => metric('sightline_worker_restarts_total', { model: 'nobatch' })).toBe(1);
    expect((await statistics('nobatch')).workerRestarts).toBe(1);
    expect((await predict('nobatch', [0, 255, 0])).status).toBe(200);
  });

  it('observes one database commit per stored detection', async () => {
    const before = await metric('sightline_db_commit_duration_seconds_count');
    expect(before).toBe(server.store.writer.counters().groupsCommitted);
    const res = await fetch(`${server.url}/v1/detections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cameraId: 'gate-1', trackId: '1', label: 'car', confidence: 0.9, detectedAt: 1710028800000 }),
    });
    expect(res.status).toBe(201);
    expect(await metric('sightline_db_commit_duration_seconds_count')).toBe(before + 1);
    expect(await metric('sightline_db_commit_duration_seconds_count')).toBe(server.store.writer.counters().groupsCommitted);
  });

  it('counts open WebSocket connections', async () => {
    expect(await metric('sightline_ws_connections')).toBe(0);
    const open = async (path: string) => {
      const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}${path}`);
      sockets.push(ws);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      return ws;
    };
    const events = await open('/v1/ws');
    await open('/v1/ws/predict/cls');
    expect(await metric('sightline_ws_connections')).toBe(2);
    events.close();
    await expect.poll(() => metric('sightline_ws_connections')).toBe(1);
  });
});

describe('slow WebSocket consumers', () => {
  it('counts a subscriber closed for not reading', async () => {
    const own = await startTestServer({ SIGHTLINE_WS_MAX_BACKPRESSURE_BYTES: '64KiB' });
    others.push(own);
    const ws = new WebSocket(`${own.url.replace('http://', 'ws://')}/v1/ws`);
    sockets.push(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'detections' }));
    await new Promise((resolve) => ws.once('message', resolve));
    // The same technique as the hub's own test: stop reading, then publish until the server gives up on it.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    expect(await metric('sightline_ws_slow_consumers_closed_total', {}, own)).toBe(0);
    const meta = { blob: 'm'.repeat(60 * 1024) };
    for (let request = 0; request < 200 && own.hub.counters().slowConsumersClosed === 0; request++) {
      const detections = Array.from({ length: 5 }, (_, i) => ({
        cameraId: 'cam-flood',
        trackId: `${request}-${i}`,
        label: 'car',
        confidence: 0.5,
        detectedAt: 1710028800000,
        meta,
      }));
      const res = await fetch(`${own.url}/v1/detections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ detections }),
      });
      expect(res.status).toBe(201);
    }
    expect(await metric('sightline_ws_slow_consumers_closed_total', {}, own)).toBe(1);
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(4000);
    await expect.poll(() => metric('sightline_ws_connections', {}, own)).toBe(0);
  });
});

describe('the Prometheus reader used here', () => {
  it('refuses what is not Prometheus text', () => {
    expect(() => parsePrometheus('# HELP a x\n# TYPE a counter\na 1\n')).not.toThrow();
    expect(() => parsePrometheus('b 1\n')).toThrow('sample of an undeclared family: b 1');
    expect(() => parsePrometheus('# HELP a x\n# TYPE a counter\na{l=1} 1\n')).toThrow('bad label set');
    expect(() => parsePrometheus('# HELP a x\n# TYPE a counter\na one\n')).toThrow('not a sample value: one');
    expect(() => parsePrometheus('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(
      'h{}: buckets are not cumulative',
    );
    expect(() => parsePrometheus('# HELP a x\n# TYPE a counter\na 1')).toThrow('exposition must end with a newline');
  });
});

describe('request metrics', () => {
  it("expose exactly what prom-client's Counter and Histogram expose for the same requests", async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const reference = new Registry();
    const counter = new Counter({ name: 't_requests_total', help: 'requests', labelNames: ['route', 'method', 'status'], registers: [reference] });
    const histogram = new Histogram({ name: 't_duration_seconds', help: 'duration', labelNames: ['route', 'method'], buckets, registers: [reference] });
    const registry = new Registry();
    const tally = new RequestMetrics(
      registry,
      { counter: 't_requests_total', counterHelp: 'requests', histogram: 't_duration_seconds', histogramHelp: 'duration' },
      buckets,
    );
    const requests: Array<[string, string, number, number]> = [
      ['/a', 'GET', 200, 0.0004],
      ['/a', 'GET', 200, 0.001],
      ['/a', 'GET', 404, 0.05],
      ['/a', 'POST', 503, 0.7],
      ['/b/"quoted"\\path', 'GET', 200, 3],
      ['unmatched', 'BREW', 405, 0.002],
    ];
    for (const [route, method, status, seconds] of requests) {
      counter.inc({ route, method, status: String(status) });
      histogram.observe({ route, method }, seconds);
      tally.observe(route, method, status, seconds);
    }
    expect(await registry.metrics()).toBe(await reference.metrics());
    registry.resetMetrics();
    expect(await registry.metrics()).toBe(
      '# HELP t_requests_total requests\n# TYPE t_requests_total counter\n\n# HELP t_duration_seconds duration\n# TYPE t_duration_seconds histogram\n',
    );
  });
});
