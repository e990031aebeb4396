/**
 * The hostile-input suite: hundreds of malformed requests over every route of the OpenAPI document,
 * raw-TCP framing attacks and WebSocket frames, against a server in a child process. Each case has
 * the one status the rules call for; across the suite there is no 5xx, the server stays up, and
 * its memory stays within a bound of where it started.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AccessLog } from './helpers/hostile/access-log.js';
import { base64Cases } from './helpers/hostile/base64-cases.js';
import { matches, type HostileCase, type Outcome } from './helpers/hostile/cases.js';
import { framingCases } from './helpers/hostile/framing-cases.js';
import { imageCases } from './helpers/hostile/image-cases.js';
import { hostileImages, noisePng } from './helpers/hostile/images.js';
import { jsonCases } from './helpers/hostile/json-cases.js';
import { LIMITS, limitsEnv } from './helpers/hostile/limits.js';
import { multipartCases } from './helpers/hostile/multipart-cases.js';
import { openInferenceCases } from './helpers/hostile/open-inference-cases.js';
import { paramCases } from './helpers/hostile/param-cases.js';
import { routeCases } from './helpers/hostile/route-cases.js';
import { spawnServer } from './helpers/hostile/server-process.js';
import { wsCases } from './helpers/hostile/ws-cases.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { linearClassifier } from './helpers/onnx-model.js';
import type { OpenApiDoc } from './helpers/openapi.js';

const MiB = 1024 * 1024;
/** How far the server's RSS may grow over the whole suite. */
const RSS_GROWTH_BOUND = 150 * MiB;

// `cls` serves every case; `spare` is the one load and unload cases aim at.
const classify = {
  onnx: linearClassifier({ classes: 3 }).bytes,
  manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] }, batching: { maxBatchSize: 8, maxQueueDelayMs: 2 } },
};
const repo = makeModelRepo({ cls: classify, spare: classify });
const server = await spawnServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_LOG_LEVEL: 'info', ...limitsEnv(LIMITS) });
process.once('exit', () => server.child.kill('SIGKILL'));
const accessLog = new AccessLog(server);
afterAll(() => server.stop());

for (let i = 0; ; i++) {
  const ready = await fetch(`${server.base}/health/ready`);
  if (ready.status === 200) break;
  if (i > 300) throw new Error(`the server never became ready: ${await ready.text()}\n${server.output().slice(-3000)}`);
  await new Promise((r) => setTimeout(r, 100));
}
const doc = (await (await fetch(`${server.base}/openapi.json`)).json()) as OpenApiDoc;
const png = await solidImage('png', 8, 8, [200, 30, 30]);
const images = await hostileImages();

const cases: HostileCase[] = [
  ...routeCases(doc, png, LIMITS),
  ...framingCases(accessLog),
  ...jsonCases(doc, png),
  ...(await multipartCases(png, LIMITS)),
  ...imageCases(images),
  ...base64Cases(png, LIMITS),
  ...paramCases(),
  ...openInferenceCases(png, LIMITS),
  ...wsCases(png, await noisePng(400, 400), images, LIMITS),
];

// Warm up what a first request loads (the model's worker, the database, the image pipeline), so the
// memory baseline is that of a server that has served, not of one that has just started.
for (let i = 0; i < 3; i++) {
  await fetch(`${server.base}/v1/models/cls/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: new Uint8Array(png) });
  await fetch(`${server.base}/v1/detections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cameraId: 'warm', trackId: '1', label: 'car', confidence: 0.5, detectedAt: Date.now(), image: png.toString('base64') }),
  });
}
const rssBefore = server.rssBytes();
const outcomes = new Map<string, Outcome>();

// Cases that may wait out uWS's idle timeout (about 12 s) start together now, each on its own
// connection, and their tests take the outcome when their family's turn comes: the suite waits for
// that timeout about once, not once per case (tests run at most a few at a time).
const early = new Map<string, Promise<Outcome>>();
for (const c of cases.filter((x) => x.startsEarly)) {
  const run = c.run(server.port);
  run.catch(() => {}); // awaited, with its error, by the case's test
  early.set(c.name, run);
}

/**
 * Set when a case got no answer and the server then failed a liveness probe: the cases after it
 * fail at once, naming the cases that were in flight (the culprit is among them), instead of each
 * waiting out its timeout against a server that is gone.
 */
let stoppedAfter: string | undefined;
const inFlight = new Set<string>();
async function stillAnswering(): Promise<boolean> {
  try {
    return (await fetch(`${server.base}/health/live`, { signal: AbortSignal.timeout(5000) })).status === 200;
  } catch {
    return false;
  }
}

const families = [...new Set(cases.map((c) => c.family))];
for (const family of families) {
  describe.concurrent(`hostile input: ${family}`, () => {
    for (const c of cases.filter((x) => x.family === family)) {
      it(c.name, async () => {
        if (stoppedAfter !== undefined) expect.fail(`${c.name}: not run, the server stopped answering while these were in flight: ${stoppedAfter}`);
        inFlight.add(c.name);
        const out = await (early.get(c.name) ?? c.run(server.port)).finally(() => inFlight.delete(c.name));
        outcomes.set(c.name, out);
        if ((out.got.includes('hang') || out.got === 'close') && stoppedAfter === undefined) {
          const suspects = [c.name, ...inFlight].map((n) => `"${n}"`).join(', ');
          if (!(await stillAnswering())) stoppedAfter ??= suspects;
        }
        expect(matches(c.expected, out.got), `${c.name}: expected ${c.expected}, got ${out.got} ${(out.detail ?? '').slice(0, 200)}`).toBe(true);
      });
    }
  });
}

describe('the server after the hostile-input suite', () => {
  it('ran at least 300 cases over every documented route, each named once', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
    // Every documented route gets the generated cases, so a route added later is attacked too.
    const perRoute = Object.keys(doc.paths).map((p) => [p, cases.filter((c) => c.route === p).length] as const);
    expect(perRoute.filter(([, n]) => n < 4)).toEqual([]);
  });

  it('answered no case with a 5xx', () => {
    const fiveHundreds = [...outcomes]
      .filter(([, o]) => o.statuses.some((s) => s >= 500))
      .map(([name, o]) => `${name}: ${o.got} ${(o.detail ?? '').slice(0, 200)}`);
    expect(fiveHundreds).toEqual([]);
  });

  it('is alive and answers /health/live', async () => {
    expect(server.child.exitCode, server.output()).toBeNull();
    expect(server.child.signalCode, server.output()).toBeNull();
    const res = await fetch(`${server.base}/health/live`, { signal: AbortSignal.timeout(5000) }).catch((err: unknown) => {
      throw new Error(`GET /health/live: ${String(err)}; the server's last output:\n${server.output().slice(-4000)}`);
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'live' });
  });

  it(`kept its RSS within ${RSS_GROWTH_BOUND / MiB} MiB of where it started`, async () => {
    await new Promise((r) => setTimeout(r, 500));
    const rssAfter = server.rssBytes();
    console.log(`hostile-input: ${cases.length} cases; server RSS ${(rssBefore / MiB).toFixed(0)} MiB before, ${(rssAfter / MiB).toFixed(0)} MiB after`);
    expect(rssAfter).toBeLessThanOrEqual(rssBefore + RSS_GROWTH_BOUND);
  });
});
