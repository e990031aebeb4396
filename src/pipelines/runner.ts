import { errorBody, SightlineError } from '../errors.js';
import type { ImageLimits } from '../imaging/index.js';
import { decodeImage, type DecodedImage } from '../imaging/raster-input.js';
import { shapeAnswer } from './answer-shape.js';
import { cropRegions, regionsOf } from './crop.js';
import type { CropStep, MapStep, PipelineSpec, PipelineStep, RotateStep, RulesStep } from './manifest.js';
import { turnQuad180 } from './quad.js';
import { applyRules, type RuleItem } from '../rules/index.js';
import type { Crop, Slot, StepValue } from './step-values.js';
import { turn180 } from './warp.js';

/** One model's answer for one image, with where its time went (the engine's Prediction fits). */
export interface StepPrediction {
  value: unknown;
  queueMs: number;
  inferMs: number;
  batchSize: number;
}

/** How a pipeline reaches the models of the repository: each call goes through that model's own batcher. */
export interface StepModels {
  /**
   * Runs pixels already decoded through a model. `first`: the request's first model call, which
   * is admitted (or refused, 503) as a predict request is; the later calls of an admitted request
   * are refused only by a full queue. `group`: items of one group batch only with each other.
   */
  predict(model: string, image: DecodedImage, options: { first: boolean; group?: string }): Promise<StepPrediction>;
  /** The model's fixed input height, when it has one (for crops cut to its size). */
  inputHeight(model: string): number | undefined;
}

/** Where one step's time went; item steps give the slowest item's queue and worker times. */
export interface StepLatency {
  /** When the step started, from the start of the request's pipeline run. */
  startMs: number;
  /** Wall time of the step. */
  ms: number;
  /** Crops or answers the step produced (per-crop steps). */
  items?: number;
  /** Model steps: the longest wait in the model's batch scheduler. */
  queueMs?: number;
  /** Model steps: the longest worker time (tensor fill, run, head) of a batch it ran in. */
  inferMs?: number;
  /** Model steps: the mean size of the batches its items ran in. */
  meanBatchSize?: number;
}

export interface PipelineResult {
  value: Record<string, unknown>;
  width: number;
  height: number;
  /** Summed over model steps: each step's longest queue wait. */
  queueMs: number;
  /** Summed over model steps: each step's longest worker time. */
  inferMs: number;
  /** The batch the request's first model step ran in. */
  batchSize: number;
  /** By step id, plus `input` for the image's decode. */
  steps: Record<string, StepLatency>;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Errors that end the whole request rather than mark one crop: a refusal or loss of capacity
 * (503, which the client should retry), a cancelled request, a model that went away.
 */
function endsRequest(err: unknown): boolean {
  if (err instanceof SightlineError) return err.status === 503 || err.status === 404;
  return (err as Error | undefined)?.name === 'AbortError';
}

let groups = 0;

/**
 * Runs one request through a pipeline: the image is decoded once, then every step starts as
 * soon as the steps it reads have finished (independent steps run side by side), crops of
 * every item step are all in flight at once (so they batch with each other and, through each
 * model's shared batcher, with other requests' crops), and the answer is shaped at the end.
 */
export async function runPipeline(spec: PipelineSpec, bytes: Uint8Array, models: StepModels, limits: ImageLimits): Promise<PipelineResult> {
  const t0 = performance.now();
  const image = await decodeImage(bytes, limits);
  const latency: Record<string, StepLatency> = { input: { startMs: 0, ms: round(performance.now() - t0) } };
  const group = spec.batchAcrossRequests ? undefined : `pipeline-${spec.name}-${++groups}`;
  const values = new Map<string, StepValue>();
  const running = new Map<string, Promise<StepValue>>();
  let firstBatchSize = 1;
  let first = true;
  const takeFirst = () => {
    const was = first;
    first = false;
    return was;
  };

  for (const step of spec.steps) {
    if (step.op === 'rules') continue;
    const deps = dependencies(step).map((id) => running.get(id)!);
    running.set(
      step.id,
      Promise.all(deps).then(async () => {
        const started = performance.now();
        const stat: StepLatency = { startMs: round(started - t0), ms: 0 };
        latency[step.id] = stat;
        const value = await runStep(step, image, values, models, stat, takeFirst, group, (b) => (firstBatchSize = b));
        stat.ms = round(performance.now() - started);
        values.set(step.id, value);
        return value;
      }),
    );
  }
  const settled = await Promise.allSettled(running.values());
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;

  let queueMs = 0;
  let inferMs = 0;
  for (const s of Object.values(latency)) {
    queueMs += s.queueMs ?? 0;
    inferMs += s.inferMs ?? 0;
  }
  const value = shapeAnswer(spec.output, spec.steps, values, image);
  const rules = spec.steps.find((s): s is RulesStep => s.op === 'rules');
  if (rules) {
    const started = performance.now();
    applyRulesTo(value, spec.output.as, rules);
    latency[rules.id] = { startMs: round(started - t0), ms: round(performance.now() - started) };
  }
  return { value, width: image.width, height: image.height, queueMs, inferMs, batchSize: firstBatchSize, steps: latency };
}

/** Rules over the answer's items: those without an error get the rule fields; `summary` holds the aggregates. */
function applyRulesTo(answer: Record<string, unknown>, as: string, step: RulesStep): void {
  const items = answer[as] as RuleItem[];
  const ok = items.filter((item) => item.error === undefined);
  const result = applyRules(step.rules, ok);
  let next = 0;
  answer[as] = items.map((item) => (item.error === undefined ? result.items[next++] : item));
  answer.summary = result.summary;
}

function dependencies(step: Exclude<PipelineStep, RulesStep>): string[] {
  switch (step.op) {
    case 'predict':
      return [];
    case 'crop':
      return [step.from];
    case 'map':
      return [step.over];
    case 'rotate':
      return [step.over, step.by];
  }
}

async function runStep(
  step: Exclude<PipelineStep, RulesStep>,
  image: DecodedImage,
  values: ReadonlyMap<string, StepValue>,
  models: StepModels,
  stat: StepLatency,
  takeFirst: () => boolean,
  group: string | undefined,
  onFirstBatch: (size: number) => void,
): Promise<StepValue> {
  switch (step.op) {
    case 'predict': {
      const isFirst = takeFirst();
      const p = await models.predict(step.model, image, { first: isFirst });
      if (isFirst) onFirstBatch(p.batchSize);
      Object.assign(stat, { queueMs: round(p.queueMs), inferMs: round(p.inferMs), meanBatchSize: p.batchSize });
      return { kind: 'answer', value: p.value };
    }
    case 'crop':
      return crop(step, image, values, models, stat);
    case 'map':
      return map(step, values, models, stat, group);
    case 'rotate':
      return rotate(step, values, stat);
  }
}

async function crop(step: CropStep, image: DecodedImage, values: ReadonlyMap<string, StepValue>, models: StepModels, stat: StepLatency): Promise<StepValue> {
  const answer = values.get(step.from) as Extract<StepValue, { kind: 'answer' }>;
  const height = step.height ?? (step.heightFrom === undefined ? undefined : models.inputHeight(step.heightFrom));
  const items = await cropRegions(image, regionsOf(answer.value, step), step, height);
  stat.items = items.length;
  return { kind: 'crops', items };
}

async function map(
  step: MapStep,
  values: ReadonlyMap<string, StepValue>,
  models: StepModels,
  stat: StepLatency,
  group: string | undefined,
): Promise<StepValue> {
  const crops = (values.get(step.over) as Extract<StepValue, { kind: 'crops' }>).items;
  let queueMs = 0;
  let inferMs = 0;
  let batchSum = 0;
  let ran = 0;
  const items = await Promise.all(
    crops.map(async (slot): Promise<Slot<unknown>> => {
      if (!slot.ok) return slot;
      try {
        const p = await models.predict(step.model, slot.value.image, { first: false, ...(group ? { group } : {}) });
        queueMs = Math.max(queueMs, p.queueMs);
        inferMs = Math.max(inferMs, p.inferMs);
        batchSum += p.batchSize;
        ran++;
        return { ok: true, value: p.value };
      } catch (err) {
        if (endsRequest(err)) throw err;
        const e = errorBody(err);
        return {
          ok: false,
          error: { step: step.id, code: e.code, message: e.status === 500 && !(err instanceof SightlineError) ? (err as Error).message : e.message },
        };
      }
    }),
  );
  Object.assign(stat, { items: items.length, queueMs: round(queueMs), inferMs: round(inferMs), ...(ran > 0 ? { meanBatchSize: round(batchSum / ran) } : {}) });
  return { kind: 'answers', items };
}

/** The probability a classify answer gives `label` (its `probabilities`, else its best label's confidence). */
function confidenceOf(answer: unknown, label: string): number {
  const a = (answer ?? {}) as { label?: unknown; confidence?: unknown; probabilities?: Record<string, unknown> };
  const p = a.probabilities?.[label];
  if (typeof p === 'number') return p;
  return a.label === label && typeof a.confidence === 'number' ? a.confidence : 0;
}

function rotate(step: RotateStep, values: ReadonlyMap<string, StepValue>, stat: StepLatency): StepValue {
  const crops = (values.get(step.over) as Extract<StepValue, { kind: 'crops' }>).items;
  const verdicts = (values.get(step.by) as Extract<StepValue, { kind: 'answers' }>).items;
  const items = crops.map((slot, i): Slot<Crop> => {
    const verdict = verdicts[i];
    if (!slot.ok) return slot;
    if (!verdict.ok) return { ok: false, error: verdict.error, quad: slot.value.quad };
    if (confidenceOf(verdict.value, step.label) < step.minConfidence) return slot;
    const c = slot.value;
    return {
      ok: true,
      value: {
        ...c,
        image: { ...turn180(c.image), format: c.image.format, mediaType: c.image.mediaType },
        quad: turnQuad180(c.quad),
        turned: (c.turned + step.degrees) % 360,
      },
    };
  });
  stat.items = items.length;
  return { kind: 'crops', items };
}
