/**
 * How many instances and intra-op threads each model gets when its manifest leaves them open.
 * Instances are capacity, not cores: each model may have up to the machine's cores worth of
 * instances × intraOpThreads, so that it can use every core while the other models are idle; the
 * run ledger (core-ledger.ts) bounds what runs at once over all models, so the cores are never
 * oversubscribed however many models are loaded.
 *
 * Small models (a short run per image) gain more from several single-threaded instances: their
 * intra-op threads mostly wait on each other, while instances overlap whole batches (2 × 1 gave
 * 1.22× the throughput of 1 × 2 on the text-direction classifier, at less CPU per request). Big
 * ones (a detector on full pages) keep one instance and use threads inside each run, which also
 * keeps one copy of their large activations in memory rather than one per instance. This is the
 * rule where nothing is measured; calibration.ts replaces it with figures for ONNX models on CPU.
 */

/** What is known of one model before it loads. */
export interface PlanInput {
  name: string;
  /** Values the manifest fixes; they are obeyed as they are and count against the cores. */
  instances?: number | undefined;
  intraOpThreads?: number | undefined;
  /** Elements of one input tensor at its largest (width × height × channels), when known. */
  inputElements?: number | undefined;
  /** Byte size of the model file, when known. */
  fileBytes?: number | undefined;
  /** Why the model keeps one instance when the manifest does not fix `instances` (a GPU session, a runtime that allows one). */
  oneInstance?: string | undefined;
}

export interface ModelPlan {
  instances: number;
  intraOpThreads: number;
  /**
   * `manifest` when the manifest fixes both values, `plan` when this rule chose at least one,
   * `calibration` when figures measured at load did.
   */
  chosenBy: 'manifest' | 'plan' | 'calibration';
  size: 'small' | 'big';
  reason: string;
  /** The figures the choice was made from, when it was measured. */
  calibration?: CalibrationReport;
}

import type { CalibrationReport } from './calibration-report.js';

/** Inputs from this many elements up (a 320×320 RGB image) run long enough per image to use threads. */
export const BIG_INPUT_ELEMENTS = 3 * 320 * 320;
/** Without an input size, a model file from this size up counts as big. */
export const BIG_FILE_BYTES = 32 * 1024 * 1024;
/** More single-threaded instances than this mostly add memory; further cores become threads. */
export const MAX_SMALL_INSTANCES = 8;
/** Intra-op threads past this scale poorly on convolutional networks; further cores become instances. */
export const MAX_BIG_THREADS = 8;

export function modelSize(m: PlanInput): 'small' | 'big' {
  if (m.inputElements !== undefined) return m.inputElements >= BIG_INPUT_ELEMENTS ? 'big' : 'small';
  if (m.fileBytes !== undefined) return m.fileBytes >= BIG_FILE_BYTES ? 'big' : 'small';
  return 'small';
}

/** The fewest cores a model can take: its fixed values, with one for each value left open. */
const minimum = (m: PlanInput): number => (m.instances ?? 1) * (m.intraOpThreads ?? 1);

/** The manifest's instances, or one where the model allows no more. */
const instancesOf = (m: PlanInput): number | undefined => m.instances ?? (m.oneInstance !== undefined ? 1 : undefined);

/**
 * Plans every model of `models` on `cores` cores: each open model gets up to `cores` of capacity,
 * fixed values are obeyed. Pure and deterministic: the same cores and models (in any order) give
 * the same plan.
 */
export function planInstances(cores: number, models: readonly PlanInput[]): Map<string, ModelPlan> {
  const total = Math.max(1, Math.floor(cores));
  const sorted = [...models].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const plans = new Map<string, ModelPlan>();
  const context = `up to ${total} core(s) of capacity; the run ledger keeps the runs of all ${sorted.length} model(s) within the ${total} core(s)`;
  for (const m of sorted) {
    if (m.instances !== undefined && m.intraOpThreads !== undefined) {
      plans.set(m.name, {
        instances: m.instances,
        intraOpThreads: m.intraOpThreads,
        chosenBy: 'manifest',
        size: modelSize(m),
        reason: 'fixed by the manifest',
      });
      continue;
    }
    const share = Math.max(total, minimum(m));
    const size = modelSize(m);
    let instances: number;
    let intraOpThreads: number;
    let how: string;
    const pinned = instancesOf(m);
    if (pinned !== undefined) {
      instances = pinned;
      intraOpThreads = m.intraOpThreads ?? Math.max(1, Math.min(MAX_BIG_THREADS, Math.floor(share / instances)));
      how =
        m.instances !== undefined
          ? `instances fixed by the manifest, ${intraOpThreads} thread(s) each`
          : `one instance (${m.oneInstance}), ${intraOpThreads} thread(s)`;
    } else if (m.intraOpThreads !== undefined) {
      intraOpThreads = m.intraOpThreads;
      instances = Math.max(1, Math.min(MAX_SMALL_INSTANCES, Math.floor(share / intraOpThreads)));
      how = `intraOpThreads fixed by the manifest, ${instances} instance(s)`;
    } else if (size === 'small') {
      instances = Math.min(share, MAX_SMALL_INSTANCES);
      intraOpThreads = Math.max(1, Math.floor(share / instances));
      how = `small model (${describeSize(m)}): ${instances} instance(s) × ${intraOpThreads} thread(s)`;
    } else {
      // Past MAX_BIG_THREADS, the fewest instances that keep each at or under it.
      instances = Math.max(1, Math.ceil(share / MAX_BIG_THREADS));
      intraOpThreads = Math.max(1, Math.floor(share / instances));
      how = `big model (${describeSize(m)}): ${instances} instance(s) × ${intraOpThreads} thread(s)`;
    }
    plans.set(m.name, { instances, intraOpThreads, chosenBy: 'plan', size, reason: `${how}; ${context}` });
  }
  return plans;
}

function describeSize(m: PlanInput): string {
  if (m.inputElements !== undefined) return `${m.inputElements} input elements`;
  if (m.fileBytes !== undefined) return `${Math.round(m.fileBytes / 1024)} KiB model file`;
  return 'size unknown';
}

/** Instance threads of the plan's models together (capacity; the ledger bounds what runs at once). */
export function plannedCores(plans: ReadonlyMap<string, ModelPlan>): number {
  let sum = 0;
  for (const p of plans.values()) sum += p.instances * p.intraOpThreads;
  return sum;
}
