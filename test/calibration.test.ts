import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Measure } from '../dist/src/engine/calibration.js';
import { ModelRepository } from '../dist/src/engine/repository.js';
import type { ProbeStep } from '../dist/src/engine/worker-protocol.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';

const labels = ['red', 'green', 'blue'];
const classifier = linearClassifier({ classes: 3 }).bytes;
const cls = (extra: Record<string, unknown> = {}) => ({ onnx: classifier, manifest: { task: 'classify', input: plainInput, head: { labels }, ...extra } });
const silent = pino({ level: 'silent' });
// A server's ledger has the machine's cores; open tiny models get single-threaded instances for all of them (8 at most).
const cores = availableParallelism();
const k = Math.min(8, cores);
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'sightline-calibration-'));

interface CalibrationAnswer {
  source: string;
  input: { width: number; height: number };
  cores: number;
  runs: Array<{ intraOpThreads: number; batchSize: number; msPerBatch: number; msPerImage: number; samples: number; clock: string }>;
  candidates: Array<{ instances: number; intraOpThreads: number; imagesPerSecond: number }>;
  batching: { batchSize: number; perImageRatio: number | null; decision: string };
  measureMs: number;
}
interface PlanAnswer {
  instances: number;
  intraOpThreads: number;
  chosenBy: string;
  reason: string;
  calibration?: CalibrationAnswer;
}

/** Figures in place of the probe: `ms(step)` for every timed run; counts the steps asked for. */
function figures(ms: (step: ProbeStep) => number): Measure & { steps: ProbeStep[] } {
  const steps: ProbeStep[] = [];
  const measure = async (_spec: unknown, asked: ProbeStep[]) => {
    steps.push(...asked);
    return asked.map((s) => ({ threads: s.threads, batch: s.batch, runsMs: [ms(s), ms(s) + 1] }));
  };
  return Object.assign(measure, { steps });
}

const repositories: ModelRepository[] = [];
async function load(repo: string, options: { dataDir?: string; measure?: Measure; cores?: number; calibrate?: boolean } = {}): Promise<ModelRepository> {
  const r = new ModelRepository({ modelsDir: repo, models: [], logger: silent, cores: options.cores ?? 2, ...options });
  repositories.push(r);
  await r.loadAll();
  for (const status of r.list())
    expect({ name: status.name, state: status.state, error: status.error }).toEqual({ name: status.name, state: 'ready', error: undefined });
  return r;
}
afterAll(async () => {
  await Promise.all(repositories.map((r) => r.close()));
});

describe('calibration at load, in a server', () => {
  it('measures open models on a synthetic batch, shows the figures, and reads them from the cache after a restart', async () => {
    const repo = makeModelRepo({
      cls: cls({ batching: { maxBatchSize: 8, maxQueueDelayMs: 5 } }),
      pinned: cls({ instances: 1, intraOpThreads: 1 }),
      threads: cls({ intraOpThreads: 2 }),
    });
    const dataDir = tmp();
    const env = { SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATA_DIR: dataDir };
    const plans = async (server: Awaited<ReturnType<typeof startTestServer>>) => {
      const out: Record<string, { plan: PlanAnswer; device: { instances: number; intraOpThreads: number }; batching: { maxBatchSize: number } }> = {};
      for (const name of ['cls', 'pinned', 'threads']) {
        const d = (await (await fetch(`${server.url}/v1/models/${name}`)).json()) as {
          state: string;
          error?: string;
          plan: PlanAnswer;
          device: { instances: number; intraOpThreads: number };
          spec: { batching: { maxBatchSize: number } };
        };
        // A model that failed to load has no spec or device: say why rather than read them.
        expect({ name, state: d.state, error: d.error }).toEqual({ name, state: 'ready', error: undefined });
        out[name] = { plan: d.plan, device: d.device, batching: d.spec.batching };
      }
      return out;
    };

    const first = await startTestServer(env);
    await first.modelsLoaded;
    const measured = await plans(first);
    await first.close();

    const c = measured.cls;
    const cal = c.plan.calibration!;
    expect(cal).toMatchObject({ source: 'measured', input: { width: 8, height: 8 }, cores });
    // A tiny model runs in microseconds on one thread: more threads are not measured, single-threaded
    // instances fill the cores. (On a machine so loaded that one run took a millisecond, 2 threads would be measured too.)
    const alone = cal.runs[0];
    expect([alone.intraOpThreads, alone.batchSize]).toEqual([1, 1]);
    if (alone.msPerBatch < 1) {
      expect(cal.runs.map((r) => [r.intraOpThreads, r.batchSize])).toEqual([
        [1, 1],
        [1, 8],
      ]);
      expect(cal.candidates.map((c) => [c.instances, c.intraOpThreads])).toEqual([[k, 1]]);
      expect(c.plan).toMatchObject({ instances: k, intraOpThreads: 1, chosenBy: 'calibration' });
    }
    // The chosen candidate: the fewest instances among those within 5% of the best estimate.
    const top = Math.max(...cal.candidates.map((e) => e.imagesPerSecond));
    const chosen = cal.candidates.filter((e) => e.imagesPerSecond >= 0.95 * top).sort((a, b) => a.instances - b.instances)[0];
    expect(c.plan).toMatchObject({ instances: chosen.instances, intraOpThreads: chosen.intraOpThreads, chosenBy: 'calibration' });
    expect(c.device).toMatchObject({ instances: chosen.instances, intraOpThreads: chosen.intraOpThreads });
    for (const run of cal.runs) {
      // Single-threaded runs are timed less their thread's wait for a core (Linux), others on the wall clock.
      expect(run.clock).toBe(run.intraOpThreads === 1 && process.platform === 'linux' ? 'wall-minus-wait' : 'wall');
      expect(run.samples).toBeGreaterThanOrEqual(1);
      // Both figures are rounded to three significant digits, so they agree within 1%.
      expect(Math.abs(run.msPerImage * run.batchSize - run.msPerBatch)).toBeLessThanOrEqual(0.01 * run.msPerBatch);
    }
    // The run is microseconds and a batch pays its hand-off once for all eight: batching pays.
    if (alone.msPerBatch < 1) expect(cal.batching.decision).toBe('kept');
    // Whatever the machine's load made of the figures, the decision is the one the reported ratio
    // gives (the ratio is rounded: at exactly 0.95 either side is possible), and the batcher follows it.
    const ratio = cal.batching.perImageRatio!;
    expect(ratio < 0.95 ? ['kept'] : ratio > 0.95 ? ['off'] : ['kept', 'off']).toContain(cal.batching.decision);
    expect(c.batching.maxBatchSize).toBe(cal.batching.decision === 'kept' ? 8 : 1);
    expect(c.plan.reason).toMatch(
      /^measured on a synthetic 8×8 batch \(\d+ ms at load\): batch 1 at 1 thread\(s\) [\d.]+ ms.*; \d instance\(s\) × \d thread\(s\) estimated at [\d.]+ images\/s.*; batch 8 costs/,
    );
    if (alone.msPerBatch < 1) expect(c.plan.reason).toContain(`ms (under 1 ms, so more threads not measured); ${k} instance(s) × 1 thread(s) estimated at`);

    expect(measured.pinned.plan).toEqual({ instances: 1, intraOpThreads: 1, chosenBy: 'manifest', reason: 'fixed by the manifest' });
    // intraOpThreads fixed at 2: the one candidate is that many threads in each instance, and only batching is measured.
    const pairs = Math.max(1, Math.min(8, Math.floor(cores / 2)));
    expect(measured.threads.plan).toMatchObject({ instances: pairs, intraOpThreads: 2, chosenBy: 'calibration' });
    expect(measured.threads.plan.calibration!.candidates.map((c) => [c.instances, c.intraOpThreads])).toEqual([[pairs, 2]]);

    const file = path.join(dataDir, 'calibration.json');
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Record<string, { model: string }> };
    expect(cached.version).toBe(1);
    expect(
      Object.values(cached.entries)
        .map((e) => e.model)
        .sort(),
    ).toEqual(['cls', 'threads']);
    expect(Object.keys(cached.entries).every((key) => new RegExp(`^[0-9a-f]{64}:cores=${cores}:`).test(key))).toBe(true);

    const second = await startTestServer(env);
    await second.modelsLoaded;
    const again = await plans(second);
    await second.close();
    expect(again.cls.plan.calibration).toEqual({ ...cal, source: 'cache', measureMs: 0 });
    expect(again.cls.plan.reason).toMatch(/^measured on a synthetic 8×8 batch \(figures from the calibration cache\)/);
    expect(again.threads.plan.calibration!.source).toBe('cache');
  });

  it('is switched off by SIGHTLINE_CALIBRATE=false: the size rule stands and nothing is cached', async () => {
    const dataDir = tmp();
    const server = await startTestServer({ SIGHTLINE_MODELS_DIR: makeModelRepo({ cls: cls() }), SIGHTLINE_DATA_DIR: dataDir, SIGHTLINE_CALIBRATE: 'false' });
    await server.modelsLoaded;
    const d = (await (await fetch(`${server.url}/v1/models/cls`)).json()) as { plan: PlanAnswer };
    await server.close();
    expect(d.plan).toEqual({
      instances: k,
      intraOpThreads: 1,
      chosenBy: 'plan',
      reason: expect.stringMatching(new RegExp(`^small model \\(192 input elements\\): ${k} instance\\(s\\) × 1 thread\\(s\\); `)),
    });
    expect(existsSync(path.join(dataDir, 'calibration.json'))).toBe(false);
  });
});

describe('calibration choices from injected figures', () => {
  it('turns batching off when an image in the largest batch costs as much as one alone', async () => {
    // 20 ms per image whatever the batch: nothing to gain.
    const measure = figures((s) => 20 * s.batch);
    const r = await load(makeModelRepo({ cls: cls({ batching: { maxBatchSize: 8, maxQueueDelayMs: 5, preferredBatchSizes: [4] } }) }), { measure });
    const d = r.detail('cls')!;
    expect(d.spec!.batching).toMatchObject({ maxBatchSize: 1, maxQueueDelayMs: 0, preferredBatchSizes: [] });
    expect(d.plan!.calibration!.batching).toEqual({ batchSize: 8, perImageRatio: 0.979, decision: 'off' });
    expect(d.plan!.reason).toMatch(
      /batch 8 costs 20 ms per image \(0\.979 × batch 1 with 0\.5 ms per batch outside the run\), not under 0\.95, so batching off \(maxBatchSize 1, no delay\)$/,
    );
    // Batch 1 at 1 and 2 threads, then the largest batch at the chosen thread count.
    expect(measure.steps.map((s) => [s.threads, s.batch, s.width, s.height])).toEqual([
      [1, 1, 8, 8],
      [2, 1, 8, 8],
      [1, 8, 8, 8],
    ]);
  });

  it('keeps batching when images in a batch are cheaper, and as written when the manifest says so', async () => {
    const falling = figures((s) => 10 + 2 * s.batch);
    const kept = await load(makeModelRepo({ cls: cls({ batching: { maxBatchSize: 8, maxQueueDelayMs: 5 } }) }), { measure: falling });
    expect(kept.detail('cls')!.spec!.batching).toMatchObject({ maxBatchSize: 8, maxQueueDelayMs: 5 });
    expect(kept.detail('cls')!.plan!.calibration!.batching.decision).toBe('kept');

    const flat = figures((s) => 20 * s.batch);
    const fixed = await load(makeModelRepo({ cls: cls({ batching: { maxBatchSize: 8, maxQueueDelayMs: 5, calibrate: false } }) }), { measure: flat });
    expect(fixed.detail('cls')!.spec!.batching).toMatchObject({ maxBatchSize: 8, maxQueueDelayMs: 5 });
    expect(fixed.detail('cls')!.plan!.calibration!.batching).toEqual({ batchSize: 1, perImageRatio: null, decision: 'not measured' });
    expect(flat.steps.every((s) => s.batch === 1)).toBe(true);
  });

  it('chooses instances × threads from the batch-1 figures, restarting the instances when the threads change', async () => {
    // One thread 10 ms, two 4 ms: 1 × 2 (250 images/s) beats 2 × 1 (200).
    const r = await load(makeModelRepo({ cls: cls({ batching: { maxBatchSize: 1 } }) }), { measure: figures((s) => (s.threads === 1 ? 10 : 4)) });
    const d = r.detail('cls')!;
    expect(d.plan).toMatchObject({ instances: 1, intraOpThreads: 2, chosenBy: 'calibration' });
    expect(d.plan!.calibration!.candidates).toEqual([
      { instances: 2, intraOpThreads: 1, imagesPerSecond: 200 },
      { instances: 1, intraOpThreads: 2, imagesPerSecond: 250 },
    ]);
    expect(d.device).toMatchObject({ instances: 1, intraOpThreads: 2 });
    expect(
      r
        .serving('cls')
        .pool.infos()
        .map((i) => i.intraOpThreads),
    ).toEqual([2]);

    // One thread 10 ms, two 6 ms: 2 × 1 (200) beats 1 × 2 (167), and the probed instances serve on.
    const other = await load(makeModelRepo({ cls: cls({ batching: { maxBatchSize: 1 } }) }), { measure: figures((s) => (s.threads === 1 ? 10 : 6)) });
    expect(other.detail('cls')!.plan).toMatchObject({ instances: 2, intraOpThreads: 1 });
    expect(
      other
        .serving('cls')
        .pool.infos()
        .map((i) => i.intraOpThreads),
    ).toEqual([1, 1]);
    expect(other.serving('cls').pool.restarts).toBe(0);
  });

  it('measures once per model file and cores: a second load reads the cache', async () => {
    const repo = makeModelRepo({ cls: cls({ batching: { maxBatchSize: 4 } }) });
    const dataDir = tmp();
    const first = figures((s) => 10 * s.batch);
    await load(repo, { dataDir, measure: first });
    expect(first.steps).toHaveLength(3);
    expect(existsSync(path.join(dataDir, 'calibration.json'))).toBe(true);

    const second = figures((s) => 10 * s.batch);
    const r = await load(repo, { dataDir, measure: second });
    expect(second.steps).toEqual([]);
    expect(r.detail('cls')!.plan!.calibration).toMatchObject({ source: 'cache', measureMs: 0, batching: { decision: 'off' } });
    expect(r.detail('cls')!.spec!.batching.maxBatchSize).toBe(1);

    // Other cores are other candidates: measured again.
    const third = figures((s) => 10 * s.batch);
    await load(repo, { dataDir, measure: third, cores: 1 });
    expect(third.steps.map((s) => [s.threads, s.batch])).toEqual([
      [1, 1],
      [1, 4],
    ]);
  });

  it('leaves the size rule standing when the probe fails, or when calibration is switched off', async () => {
    const failing: Measure = async () => {
      throw new Error('boom');
    };
    const r = await load(makeModelRepo({ cls: cls() }), { measure: failing });
    expect(r.detail('cls')!.plan).toMatchObject({ instances: 2, intraOpThreads: 1, chosenBy: 'plan' });
    expect(r.detail('cls')!.plan!.reason).toMatch(/; calibration failed \(boom\), so this rule stands$/);
    expect(r.status('cls')!.state).toBe('ready');

    const never = figures(() => 1);
    const off = await load(makeModelRepo({ cls: cls() }), { measure: never, calibrate: false });
    expect(off.detail('cls')!.plan).toMatchObject({ instances: 2, intraOpThreads: 1, chosenBy: 'plan' });
    expect(off.detail('cls')!.plan!.calibration).toBeUndefined();
    expect(never.steps).toEqual([]);
  });
});
