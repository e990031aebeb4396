import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SightlineError } from '../errors.js';
import { DEFAULT_MAX_SIDE, DEFAULT_MULTIPLE } from '../imaging/input-spec.js';
import type { CalibrationReport, CalibrationRun } from './calibration-report.js';
import { MAX_BIG_THREADS, MAX_SMALL_INSTANCES } from './instance-plan.js';
import type { ModelSpec } from './manifest.js';
import type { ProbeFigure, ProbeStep } from './worker-protocol.js';

/**
 * Calibration at load: for an ONNX model on CPU whose manifest leaves `instances` or
 * `intraOpThreads` open, a few configurations are timed on a synthetic batch of the model's input
 * size, on the model's first instance, and the choice is made from the figures instead of from its
 * size alone:
 *  1. batch 1 at each candidate thread count (1, 2, 4, 8 up to the cores; only 1 when one thread
 *     takes under a millisecond): instances × threads is the candidate with the best estimated
 *     throughput, instances running side by side on separate cores (a candidate with fewer
 *     instances, so less memory, wins within 5%);
 *  2. the largest batch (maxBatchSize) at the chosen threads: when one image in it costs at least
 *     0.95 of one image alone (each batch counted with BATCH_OVERHEAD_MS), batches buy nothing, so
 *     the model gets maxBatchSize 1 and no delay (unless the manifest says `batching.calibrate: false`).
 * Each step is a warm-up run then timed runs (up to 20, stopping once 100 ms are spent, at least
 * one), single-threaded ones less the time their thread waited for a core (so other load on the
 * machine does not count; see probe-runs.ts), and the fastest counts: about a second for the
 * PP-OCRv4 detector on a quiet 2-core machine, milliseconds for a tiny model. The figures are
 * cached per model file (SHA-256), cores and candidate set in
 * `<dataDir>/calibration.json`, so a restart does not measure again.
 */

/** Runs synthetic batches on the model's first instance (ModelPool.probe). */
export type Probe = (steps: ProbeStep[], keep: boolean) => Promise<ProbeFigure[]>;
/** What takes the figures of a set of steps: the probe itself, or figures injected in its place. */
export type Measure = (spec: ModelSpec, steps: ProbeStep[], probe: Probe) => Promise<ProbeFigure[]>;

/** One image costing at least this share of one image alone in the largest batch: batching off. */
export const BATCHING_GAIN_RATIO = 0.95;
/**
 * What every batch costs in the server outside the run, whatever its size (the hand-off to a
 * worker and back, its messages, the promises settled on the main thread), counted on both sides
 * of the comparison. At saturation on 2 cores a text-direction batch took 3.6 ms from dispatch to
 * answer against 1.2 ms inside its worker; this counts a conservative part of that. It decides only
 * for runs of a millisecond or so (the classifier: 0.53 ms alone, 0.49 ms per image in a batch of
 * 16, so batches pay), and nothing for long ones (the detector's 57 against 77 ms per image).
 */
export const BATCH_OVERHEAD_MS = 0.5;
/** A candidate with fewer instances within this share of the best estimate is preferred (memory). */
const FEWER_INSTANCES_WITHIN = 0.95;
/** Timed runs per step at most; fewer once STEP_BUDGET_MS is spent (at least one). */
const TIMED_RUNS = 20;
const STEP_BUDGET_MS = 100;
/** A batch-1 run this short at one thread is not measured at more threads (see measureFigures). */
export const SHORT_RUN_MS = 1;
/** The synthetic side of a model that takes any size (pad-to-multiple): a typical page or photo. */
const TYPICAL_SIDE = 640;

export interface CalibrationPlan {
  /** instances × threads candidates; each thread count is measured once. */
  candidates: Array<{ instances: number; intraOpThreads: number }>;
  /** The largest batch, when batching is calibrated. */
  batchSize: number | undefined;
  width: number;
  height: number;
  cores: number;
  key: string;
}

/** A measurement as cached: batch-1 figures per thread count, and the largest batch at the chosen threads (or why it failed). */
export interface CalibrationFigures {
  batchOne: ProbeFigure[];
  largest: (ProbeFigure & { error?: undefined }) | { threads: number; batch: number; runsMs: []; error: string } | undefined;
}

export interface CalibrationChoice {
  instances: number;
  intraOpThreads: number;
  batchingOff: boolean;
  reason: string;
  report: CalibrationReport;
}

/** Whether calibration decides anything for this model: ONNX on CPU with instances or threads left open. */
export function calibrates(spec: ModelSpec): boolean {
  if (spec.backend !== 'onnx' || spec.device !== 'cpu') return false;
  return spec.fixed.instances === undefined || spec.fixed.intraOpThreads === undefined;
}

/** The synthetic batch's image size: the input's own, or a typical one where the model takes any size. */
export function syntheticSize(spec: ModelSpec): { width: number; height: number } {
  const { width, height, maxSide = DEFAULT_MAX_SIDE, multiple, resize } = spec.input;
  if (resize === 'pad-to-multiple') {
    const m = multiple ?? DEFAULT_MULTIPLE;
    const side = Math.max(m, Math.floor(Math.min(maxSide, TYPICAL_SIDE) / m) * m);
    return { width: side, height: side };
  }
  const h = height!;
  // fit-height without a width: a text line of four times its height (within the side limit).
  const w = width ?? Math.max(multiple ?? 1, Math.min(maxSide, Math.ceil((4 * h) / (multiple ?? 1)) * (multiple ?? 1)));
  return { width: w, height: h };
}

/** Thread counts worth trying on `cores`, each with the instances that fill the cores (fixed values obeyed). */
export function candidatesFor(spec: ModelSpec, cores: number): Array<{ instances: number; intraOpThreads: number }> {
  const share = Math.max(1, Math.floor(cores));
  const fixedK = spec.fixed.instances;
  const fixedT = spec.fixed.intraOpThreads;
  const threads =
    fixedT !== undefined ? [fixedT] : [...new Set([1, 2, 4, 8, share].filter((t) => t <= Math.min(share, MAX_BIG_THREADS)))].sort((a, b) => a - b);
  const out: Array<{ instances: number; intraOpThreads: number }> = [];
  for (const t of threads) {
    const instances = fixedK ?? Math.max(1, Math.min(MAX_SMALL_INSTANCES, Math.floor(share / t)));
    // With fixed instances, a thread count that would put more threads than cores to work is no candidate.
    if (fixedK !== undefined && fixedT === undefined && t > 1 && fixedK * t > share) continue;
    out.push({ instances, intraOpThreads: t });
  }
  return out;
}

export async function fileSha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

export async function calibrationPlan(spec: ModelSpec, cores: number): Promise<CalibrationPlan> {
  const candidates = candidatesFor(spec, cores);
  const { width, height } = syntheticSize(spec);
  const b = spec.batching;
  const batchSize = b.calibrate !== false && b.maxBatchSize > 1 ? b.maxBatchSize : undefined;
  const sha = await fileSha256(spec.file);
  const threads = candidates.map((c) => c.intraOpThreads).join(',');
  const input = `${width}x${height}:${spec.input.layout}:${spec.input.dtype}`;
  const key = `${sha}:cores=${cores}:threads=${threads}:batch=${batchSize ?? 1}:${input}:arena=${spec.memoryArena}`;
  return { candidates, batchSize, width, height, cores, key };
}

const step = (plan: CalibrationPlan, threads: number, batch: number): ProbeStep => ({
  threads,
  batch,
  width: plan.width,
  height: plan.height,
  runs: TIMED_RUNS,
  budgetMs: STEP_BUDGET_MS,
});
const fastest = (f: ProbeFigure): number => Math.min(...f.runsMs);

/**
 * Takes the figures: batch 1 at one thread, then at the other candidate thread counts unless one
 * thread already runs it in under SHORT_RUN_MS (intra-op threads cannot pay for waking each other
 * on so short a run, so single-threaded instances are the choice and nothing is left to measure),
 * then, when batching is calibrated, the largest batch at the thread count batch 1 chose. A
 * failing largest batch (a model that takes only batch 1) is recorded, not thrown; any other
 * failure is. The probe's extra sessions are released at the end, whatever happened.
 */
export async function measureFigures(
  spec: ModelSpec,
  plan: CalibrationPlan,
  probe: Probe,
  measure: Measure = (_spec, steps, p) => p(steps, true),
): Promise<CalibrationFigures> {
  try {
    const [first, ...rest] = plan.candidates.map((c) => c.intraOpThreads);
    let batchOne = await measure(spec, [step(plan, first, 1)], probe);
    checkFigures(batchOne, 1);
    if (rest.length > 0 && fastest(batchOne[0]) >= SHORT_RUN_MS) {
      const others = await measure(
        spec,
        rest.map((t) => step(plan, t, 1)),
        probe,
      );
      checkFigures(others, rest.length);
      batchOne = [...batchOne, ...others];
    }
    if (plan.batchSize === undefined) return { batchOne, largest: undefined };
    const chosen = chooseThreads(plan, batchOne);
    try {
      const largest = await measure(spec, [step(plan, chosen.intraOpThreads, plan.batchSize)], probe);
      checkFigures(largest, 1);
      return { batchOne, largest: largest[0] };
    } catch (err) {
      // A lost worker or a missed deadline is no figure about batches.
      if (err instanceof SightlineError) throw err;
      return { batchOne, largest: { threads: chosen.intraOpThreads, batch: plan.batchSize, runsMs: [], error: (err as Error).message } };
    }
  } finally {
    await probe([], false).catch(() => undefined);
  }
}

function checkFigures(figures: ProbeFigure[], expected: number): void {
  if (figures.length !== expected || figures.some((f) => f.runsMs.length === 0 || f.runsMs.some((ms) => !(ms >= 0) || !Number.isFinite(ms)))) {
    throw new Error(`calibration expected ${expected} figure(s) with timed runs, got ${JSON.stringify(figures)}`);
  }
}

interface Estimate {
  instances: number;
  intraOpThreads: number;
  imagesPerSecond: number;
}

function estimates(plan: CalibrationPlan, batchOne: ProbeFigure[]): Estimate[] {
  const measured = plan.candidates.filter((c) => batchOne.some((f) => f.threads === c.intraOpThreads));
  return measured.map((c) => {
    const figure = batchOne.find((f) => f.threads === c.intraOpThreads)!;
    // At least a microsecond, so a run faster than the clock's resolution does not divide by zero.
    return { ...c, imagesPerSecond: (c.instances * 1000) / Math.max(1e-3, fastest(figure)) };
  });
}

function chooseThreads(plan: CalibrationPlan, batchOne: ProbeFigure[]): Estimate {
  const all = estimates(plan, batchOne);
  const best = Math.max(...all.map((e) => e.imagesPerSecond));
  const close = all.filter((e) => e.imagesPerSecond >= FEWER_INSTANCES_WITHIN * best);
  close.sort((a, b) => a.instances - b.instances || b.imagesPerSecond - a.imagesPerSecond);
  return close[0];
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));

/** The choice the figures make. Pure: the same plan and figures give the same choice. */
export function chooseFromFigures(plan: CalibrationPlan, figures: CalibrationFigures, source: 'measured' | 'cache', measureMs: number): CalibrationChoice {
  const chosen = chooseThreads(plan, figures.batchOne);
  const all = estimates(plan, figures.batchOne);
  const runs: CalibrationRun[] = figures.batchOne.map((f) => ({
    intraOpThreads: f.threads,
    batchSize: 1,
    msPerBatch: round(fastest(f)),
    msPerImage: round(fastest(f)),
    samples: f.runsMs.length,
    clock: f.clock ?? 'wall',
  }));
  const size = `${plan.width}×${plan.height}`;
  const skipped = plan.candidates.length > figures.batchOne.length ? ` (under ${SHORT_RUN_MS} ms, so more threads not measured)` : '';
  const perThreads = figures.batchOne.map((f) => `${f.threads} thread(s) ${round(fastest(f))} ms`).join(', ') + skipped;
  const others = all.filter((e) => e.intraOpThreads !== chosen.intraOpThreads).map((e) => `${e.instances} × ${e.intraOpThreads} ${round(e.imagesPerSecond)}/s`);
  let reason =
    `measured on a synthetic ${size} batch ` +
    `(${source === 'cache' ? 'figures from the calibration cache' : `${Math.round(measureMs)} ms at load`}): batch 1 at ${perThreads}; ` +
    `${chosen.instances} instance(s) × ${chosen.intraOpThreads} thread(s) estimated at ${round(chosen.imagesPerSecond)} ` +
    `images/s${others.length > 0 ? ` (against ${others.join(', ')})` : ''}`;

  let batchingOff = false;
  let ratio: number | null = null;
  let decision: CalibrationReport['batching']['decision'] = 'not measured';
  const largest = figures.largest;
  if (largest !== undefined && largest.error !== undefined) {
    batchingOff = true;
    decision = 'off';
    reason += `; a batch of ${largest.batch} failed (${largest.error}), so batching off (maxBatchSize 1, no delay)`;
  } else if (largest !== undefined) {
    const perImage = fastest(largest) / largest.batch;
    const alone = figures.batchOne.find((f) => f.threads === largest.threads);
    const one = alone !== undefined ? fastest(alone) : perImage;
    const withOverhead = (fastest(largest) + BATCH_OVERHEAD_MS) / largest.batch;
    runs.push({
      intraOpThreads: largest.threads,
      batchSize: largest.batch,
      msPerBatch: round(fastest(largest)),
      msPerImage: round(perImage),
      samples: largest.runsMs.length,
      clock: largest.clock ?? 'wall',
    });
    ratio = round(withOverhead / (one + BATCH_OVERHEAD_MS));
    batchingOff = withOverhead >= BATCHING_GAIN_RATIO * (one + BATCH_OVERHEAD_MS);
    decision = batchingOff ? 'off' : 'kept';
    reason += batchingOff
      ? `; batch ${largest.batch} costs ${round(perImage)} ms per image (${ratio} × batch 1 with ${BATCH_OVERHEAD_MS} ms per batch outside ` +
        `the run), not under ${BATCHING_GAIN_RATIO}, so batching off (maxBatchSize 1, no delay)`
      : `; batch ${largest.batch} costs ${round(perImage)} ms per image (${ratio} × batch 1 with ${BATCH_OVERHEAD_MS} ms per batch outside ` +
        `the run), so batching kept`;
  }
  return {
    instances: chosen.instances,
    intraOpThreads: chosen.intraOpThreads,
    batchingOff,
    reason,
    report: {
      source,
      input: { width: plan.width, height: plan.height },
      cores: plan.cores,
      runs,
      candidates: all.map((e) => ({ instances: e.instances, intraOpThreads: e.intraOpThreads, imagesPerSecond: round(e.imagesPerSecond) })),
      batching: { batchSize: plan.batchSize ?? 1, perImageRatio: ratio, decision },
      measureMs: Math.round(measureMs),
    },
  };
}

/** The spec with the calibration's choice where the manifest leaves values open. */
export function withCalibration(spec: ModelSpec, choice: CalibrationChoice): ModelSpec {
  const instances = spec.fixed.instances ?? choice.instances;
  const intraOpThreads = spec.fixed.intraOpThreads ?? choice.intraOpThreads;
  const batching = choice.batchingOff ? { ...spec.batching, maxBatchSize: 1, maxQueueDelayMs: 0, preferredBatchSizes: [] } : spec.batching;
  const size = spec.plan?.size ?? 'small';
  return {
    ...spec,
    instances,
    intraOpThreads,
    batching,
    plan: { instances, intraOpThreads, chosenBy: 'calibration', size, reason: choice.reason, calibration: choice.report },
  };
}
