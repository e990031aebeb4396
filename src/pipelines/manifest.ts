import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseRules, type Rules } from '../rules/index.js';

/** The manifest `task` that makes a repository entry a pipeline instead of a model. */
export const PIPELINE_TASK = 'pipeline';

/** A pipeline manifest that failed validation; the message names the file and the field. */
export class PipelineManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PipelineManifestError';
  }
}

/** The request's image, decoded once: the input of `predict` steps. */
export const INPUT = 'input';

const stepId = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a step id starts with a letter and holds letters, digits, - and _')
  .refine((id) => id !== INPUT, `"${INPUT}" names the request's image, not a step`);
const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a model name of the repository');
const unit = (fallback: number) => z.number().min(0).max(1).default(fallback);

const predictStep = z.strictObject({
  id: stepId,
  op: z.literal('predict'),
  /** Runs on the request's image. */
  model: modelName,
});

const cropStep = z.strictObject({
  id: stepId,
  op: z.literal('crop'),
  /** A predict step whose answer lists regions: `regions` (text-detect), `detections` (detect) or `polygons` (segment). */
  from: stepId,
  /** Which list of that answer; default the one it has. */
  field: z.enum(['regions', 'detections', 'polygons']).optional(),
  /** Only regions with one of these labels (detections, polygons). */
  labels: z.array(z.string().min(1)).min(1).optional(),
  /** Only regions scoring at least this. */
  minScore: z.number().min(0).max(1).optional(),
  /**
   * true: each region's minimum-area rectangle warped upright (text lines, turned or slanted);
   * false: the axis-aligned box, as it is.
   */
  upright: z.boolean().default(true),
  /** Crop height in pixels (the width keeps the region's aspect). */
  height: z.number().int().min(1).max(1024).optional(),
  /** Crop height taken from this model's fixed input height (e.g. the recogniser's 48). */
  heightFrom: modelName.optional(),
  /**
   * Each region grown by this fraction of its height on every side before it is cut (answers
   * keep the region itself). A text recogniser reads a line cut tight to its glyphs worse: see
   * the README's pipelines section.
   */
  margin: z.number().min(0).max(2).default(0),
  /** The crop's longest width; a longer region is squeezed to it. */
  maxWidth: z.number().int().min(1).max(16384).default(4096),
});

const mapStep = z.strictObject({
  id: stepId,
  op: z.literal('map'),
  /** Runs on every crop of `over`, each crop through the model's own batcher. */
  model: modelName,
  /** A crop or rotate step. */
  over: stepId,
});

const rotateStep = z.strictObject({
  id: stepId,
  op: z.literal('rotate'),
  /** A crop or rotate step whose crops are turned. */
  over: stepId,
  /** A map step of a classifier over the same crops. */
  by: stepId,
  /** The classifier's label that means "turned". */
  label: z.string().min(1),
  /** Turned only when that label's confidence is at least this. */
  minConfidence: unit(0.9),
  degrees: z.literal(180).default(180),
});

/**
 * Business rules (src/rules: tables, per-item fields, aggregates) over the answer's items once
 * they are shaped: each item without an error gets the rule fields, the answer gets `summary`.
 */
const rulesStep = z.strictObject({
  id: stepId,
  op: z.literal('rules'),
  rules: z.unknown(),
});

const step = z.discriminatedUnion('op', [predictStep, cropStep, mapStep, rotateStep, rulesStep]);

const fieldRef = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*\.[A-Za-z0-9_]+$/, 'a field as "<step>.<field>"');

const output = z.strictObject({
  /** The crop (or rotate) step whose crops are the answer's items, one each. */
  items: stepId,
  /** The answer's field holding the items. */
  as: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/)
    .default('items'),
  /** Item field → `<step>.<field>`: a map step's answer field, or a crop step's region field (score, label). */
  fields: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), fieldRef).default({}),
  /** Each item's `points` (its quadrilateral, reading order) and `box`, in image pixels. */
  geometry: z.boolean().default(true),
  /** Items whose `field` is under `min` are dropped (items marked with an error are kept). */
  keep: z.strictObject({ field: z.string().min(1), min: z.number() }).optional(),
  /** One answer field joining an item field of every kept item, in order. */
  join: z.strictObject({ field: z.string().min(1), into: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/), separator: z.string().default('\n') }).optional(),
  /** `reading`: top to bottom, then left to right within a row; `detected`: as the crop step listed them. */
  order: z.enum(['reading', 'detected']).default('reading'),
});

const pipelineSchema = z.strictObject({
  name: modelName.optional(),
  description: z.string().optional(),
  task: z.literal(PIPELINE_TASK),
  steps: z.array(step).min(1),
  output,
  /**
   * false: the crops of one request batch only with each other, never with other requests'
   * (for comparison; by default every crop goes to its model's shared batcher).
   */
  batchAcrossRequests: z.boolean().default(true),
});

export type PipelineStep = Exclude<z.output<typeof step>, { op: 'rules' }> | RulesStep;
export type PredictStep = z.output<typeof predictStep>;
export type CropStep = z.output<typeof cropStep>;
export type MapStep = z.output<typeof mapStep>;
export type RotateStep = z.output<typeof rotateStep>;
/** A rules step with its rules parsed. */
export type RulesStep = Omit<z.output<typeof rulesStep>, 'rules'> & { rules: Rules };
export type PipelineOutput = z.output<typeof output>;

export interface PipelineSpec {
  name: string;
  description: string | undefined;
  manifestPath: string;
  steps: PipelineStep[];
  output: PipelineOutput;
  batchAcrossRequests: boolean;
  /** Every model the steps name, in first-use order. */
  models: string[];
}

/** True when `<dir>/model.json` is a pipeline manifest (unreadable files are left to the model loader). */
export function isPipelineManifest(dir: string): boolean {
  try {
    const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as unknown;
    return typeof json === 'object' && json !== null && (json as { task?: unknown }).task === PIPELINE_TASK;
  } catch {
    return false;
  }
}

/** Reads and validates `<dir>/model.json` as a pipeline: the schema, then how the steps refer to each other. */
export function loadPipelineManifest(dir: string): PipelineSpec {
  const manifestPath = path.join(dir, 'model.json');
  const fail = (field: string, message: string): never => {
    throw new PipelineManifestError(`${manifestPath}: ${field ? `${field}: ` : ''}${message}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    return fail('', `not valid JSON: ${(err as Error).message}`);
  }
  const parsed = pipelineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(issue.path.join('.'), issue.message);
  }
  const m = parsed.data;
  const steps = m.steps.map((s, i): PipelineStep => {
    if (s.op !== 'rules') return s;
    // The item fields come from models loaded on their own, so only the rules' own shape is checked here.
    const { rules, issues } = parseRules(s.rules);
    if (!rules) return fail([`steps.${i}.rules`, ...issues[0].path].join('.'), issues[0].message);
    return { ...s, rules };
  });
  const problem = graphProblem(steps, m.output);
  if (problem) fail(problem.field, problem.message);
  const models: string[] = [];
  for (const s of steps) {
    for (const name of [s.op === 'predict' || s.op === 'map' ? s.model : undefined, s.op === 'crop' ? s.heightFrom : undefined]) {
      if (name !== undefined && !models.includes(name)) models.push(name);
    }
  }
  return {
    name: m.name ?? path.basename(dir),
    description: m.description,
    manifestPath,
    steps,
    output: m.output,
    batchAcrossRequests: m.batchAcrossRequests,
    models,
  };
}

/** What a step produces: one answer for the image, a list of crops, or one answer per crop. */
type Produces = 'answer' | 'crops' | 'answers' | 'rules';

const produces = (s: PipelineStep): Produces =>
  s.op === 'predict' ? 'answer' : s.op === 'crop' || s.op === 'rotate' ? 'crops' : s.op === 'map' ? 'answers' : 'rules';

/**
 * The crop step a per-crop step's items come from: items of two steps pair up by index only
 * when they share it.
 */
export function cropRoot(steps: readonly PipelineStep[], id: string): string | undefined {
  const s = steps.find((x) => x.id === id);
  if (s === undefined) return undefined;
  if (s.op === 'crop') return s.id;
  if (s.op === 'map' || s.op === 'rotate') return cropRoot(steps, s.over);
  return undefined;
}

/**
 * Each reference must name an earlier step of the right kind (so the steps form a DAG in the
 * order written), and per-crop steps that are combined must descend from the same crop step.
 */
function graphProblem(steps: readonly PipelineStep[], out: PipelineOutput): { field: string; message: string } | undefined {
  const seen = new Map<string, PipelineStep>();
  for (const [i, s] of steps.entries()) {
    const at = `steps.${i}`;
    if (seen.has(s.id)) return { field: `${at}.id`, message: `duplicate step id "${s.id}"` };
    const ref = (field: string, id: string, want: Produces[]): { field: string; message: string } | undefined => {
      const target = seen.get(id);
      if (target === undefined) {
        const later = steps.some((x) => x.id === id);
        return { field: `${at}.${field}`, message: later ? `step "${id}" comes later; a step may only use earlier ones` : `no step "${id}"` };
      }
      if (!want.includes(produces(target)))
        return { field: `${at}.${field}`, message: `step "${id}" (${target.op}) gives ${produces(target)}, not ${want.join(' or ')}` };
      return undefined;
    };
    let problem: { field: string; message: string } | undefined;
    switch (s.op) {
      case 'crop':
        problem = ref('from', s.from, ['answer']);
        if (!problem && s.height !== undefined && s.heightFrom !== undefined)
          problem = { field: `${at}.heightFrom`, message: 'give height or heightFrom, not both' };
        break;
      case 'map':
        problem = ref('over', s.over, ['crops']);
        break;
      case 'rotate':
        problem = ref('over', s.over, ['crops']) ?? ref('by', s.by, ['answers']);
        if (!problem && cropRoot(steps, s.by) !== cropRoot(steps, s.over)) {
          problem = { field: `${at}.by`, message: `step "${s.by}" runs over other crops than "${s.over}"` };
        }
        break;
      case 'rules':
        if (steps.some((x, j) => x.op === 'rules' && j < i))
          problem = { field: `${at}.op`, message: "one rules step per pipeline (it runs over the answer's items)" };
        else if (Object.hasOwn(out.fields, 'summary') || out.as === 'summary' || out.join?.into === 'summary')
          problem = { field: `${at}.op`, message: 'the rules\' aggregates go in "summary", which the output already uses' };
        break;
      case 'predict':
        break;
    }
    if (problem) return problem;
    seen.set(s.id, s);
  }
  const items = seen.get(out.items);
  if (items === undefined || produces(items) !== 'crops') return { field: 'output.items', message: `"${out.items}" is not a crop or rotate step` };
  const root = cropRoot(steps, out.items);
  for (const [name, source] of Object.entries(out.fields)) {
    const stepName = source.slice(0, source.indexOf('.'));
    const target = seen.get(stepName);
    if (target === undefined) return { field: `output.fields.${name}`, message: `no step "${stepName}"` };
    if (produces(target) === 'answer' || produces(target) === 'rules' || cropRoot(steps, stepName) !== root) {
      return { field: `output.fields.${name}`, message: `step "${stepName}" does not run over the crops of "${out.items}"` };
    }
  }
  const itemFields = new Set([...Object.keys(out.fields), ...(out.geometry ? ['points', 'box'] : [])]);
  if (out.keep && !itemFields.has(out.keep.field)) return { field: 'output.keep.field', message: `"${out.keep.field}" is not an item field` };
  if (out.join && !itemFields.has(out.join.field)) return { field: 'output.join.field', message: `"${out.join.field}" is not an item field` };
  if (out.join && out.join.into === out.as) return { field: 'output.join.into', message: `"${out.join.into}" already holds the items` };
  return undefined;
}
