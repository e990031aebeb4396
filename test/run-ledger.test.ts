import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failingModel, stallingModel } from './helpers/onnx-model.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const rawInput = { ...plainInput, scale: 1 };
/** The server's ledger has the machine's cores. */
const cores = availableParallelism();
const noBatching = { maxBatchSize: 1, maxQueueDelayMs: 0 };

let server: Server;

beforeAll(async () => {
  // Two models whose white images take a few milliseconds each (a 400² MatMul), and three whose runs
  // fail or hang on purpose. Every one may use all the cores alone: more capacity than the ledger's tokens.
  const repo = makeModelRepo({
    busyA: { onnx: stallingModel({ magic: 255, side: 400 }).bytes, manifest: { task: 'raw', input: rawInput, batching: noBatching } },
    busyB: { onnx: stallingModel({ magic: 255, side: 400 }).bytes, manifest: { task: 'raw', input: rawInput, batching: noBatching } },
    fail: { onnx: failingModel({ magic: 255 }).bytes, manifest: { task: 'raw', input: rawInput, batching: { maxBatchSize: 4, maxQueueDelayMs: 200 } } },
    hang: {
      onnx: stallingModel({ magic: 255, side: 2000 }).bytes,
      manifest: { task: 'raw', input: rawInput, batching: { ...noBatching, runTimeoutMs: 60_000 } },
    },
    late: { onnx: stallingModel({ magic: 255, side: 2000 }).bytes, manifest: { task: 'raw', input: rawInput, batching: { ...noBatching, runTimeoutMs: 50 } } },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const post = (model: string, body: Buffer | string, type = 'image/png') =>
  fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': type } });
const white = () => solidImage('png', 8, 8, [255, 255, 255]);
const ledger = () => server.models.ledger;
const pool = (model: string) => server.models.serving(model).pool;

/** Resolves once `condition` holds, checking every few milliseconds (a wait, not a timed assertion); `what` names it if it never does. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const giveUp = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Counts the threads of the runs on these models' workers as the main thread sees them: from the
 * message that starts a run to its answer, each run weighing its model's intraOpThreads.
 */
function watchRuns(models: string[]): { threads: number; max: number; runs: number } {
  const seen = { threads: 0, max: 0, runs: 0 };
  for (const model of models) {
    const threads = server.models.serving(model).spec.intraOpThreads;
    for (const worker of pool(model).threads) {
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (message: { kind: string }, transfer?: never) => {
        if (message.kind === 'infer' || message.kind === 'probe') {
          seen.runs++;
          seen.threads += threads;
          seen.max = Math.max(seen.max, seen.threads);
        }
        post(message, transfer);
      };
      // Ahead of the pool's own listener, which dispatches the next run as soon as this one answers.
      worker.prependListener('message', (message: { kind: string }) => {
        if (['reply', 'failed', 'probed', 'probe-failed'].includes(message.kind)) seen.threads -= threads;
      });
    }
  }
  return seen;
}

describe('run ledger in a server', () => {
  it('gives every model instances for all the cores, and never runs more than the cores at once', async () => {
    let capacity = 0;
    for (const model of ['busyA', 'busyB']) {
      const detail = (await (await fetch(`${server.url}/v1/models/${model}`)).json()) as { device: { instances: number; intraOpThreads: number } };
      // Calibration picks the split; either way one model alone may fill the cores (8 instances at most).
      expect(detail.device.instances * detail.device.intraOpThreads).toBe(Math.min(8, cores));
      capacity += detail.device.instances * detail.device.intraOpThreads;
    }
    expect(capacity).toBe(2 * Math.min(8, cores));
    const seen = watchRuns(['busyA', 'busyB']);
    const before = ledger().granted;
    const image = await white();
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => post(i % 2 === 0 ? 'busyA' : 'busyB', image)));
    expect(answers.map((r) => r.status)).toEqual(Array(24).fill(200));
    expect(ledger().granted - before).toBe(24);
    // Twice the cores in instance threads: as many threads running at a time as cores, not twice as many.
    expect(seen.runs).toBe(24);
    expect(seen.max).toBeLessThanOrEqual(cores);
    expect(ledger().peakInUse).toBeLessThanOrEqual(cores);
    expect(ledger().peakInUse).toBeGreaterThanOrEqual(Math.min(2, cores));
    expect([ledger().inUse, ledger().waiting, seen.threads]).toEqual([0, 0, 0]);
  });

  it('takes the tokens back from a batch that fails in the runtime and from the halves it is split into', async () => {
    const bad = (await white()).toString('base64');
    const good = (await solidImage('png', 8, 8, [10, 20, 30])).toString('base64');
    const before = ledger().granted;
    const res = await post('fail', JSON.stringify({ images: [good, bad] }), 'application/json');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<{ error?: { code: string } }> };
    expect(body.results.map((r) => r.error?.code)).toEqual([undefined, 'inference_failed']);
    expect(ledger().granted - before).toBeGreaterThanOrEqual(2);
    expect([ledger().inUse, ledger().waiting]).toEqual([0, 0]);
  });

  it('takes the tokens back from a worker that dies while running', async () => {
    const stuck = post('hang', await white());
    const threads = server.models.serving('hang').spec.intraOpThreads;
    await until(() => ledger().inUse === threads, 'the hanging run to hold its tokens');
    for (const worker of pool('hang').threads) worker.emit('error', new Error('worker crashed'));
    const res = await stuck;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/worker error: worker crashed while running a batch/);
    expect([ledger().inUse, ledger().waiting]).toEqual([0, 0]);
    // A replacement serves, with tokens as before.
    expect((await post('hang', await solidImage('png', 8, 8, [1, 2, 3]))).status).toBe(200);
    expect(ledger().inUse).toBe(0);
  });

  it('takes the tokens back from a run past its deadline', async () => {
    const res = await post('late', await white());
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/batch did not finish within 50 ms/);
    expect([ledger().inUse, ledger().waiting]).toEqual([0, 0]);
    expect(ledger().peakInUse).toBeLessThanOrEqual(cores);
  });
});
