import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { SessionSpec } from '../backends/session-spec.js';
import { headFor, type Task, tasks } from '../heads/index.js';
import { imageInputSpecProblems, type ImageInputSpec } from '../imaging/index.js';
import type { ModelPlan, PlanInput } from './instance-plan.js';
import { resolvePackageFile } from './package-path.js';

/** A model manifest that failed validation; the message names the file and the field. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const triple = z.tuple([z.number(), z.number(), z.number()]);

const inputSchema = z
  .object({
    name: z.string().min(1).optional(),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    dtype: z.enum(['float32', 'uint8']).default('float32'),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    resize: z.enum(['stretch', 'letterbox', 'pad-to-multiple', 'fit-height']),
    multiple: z.number().int().positive().optional(),
    maxSide: z.number().int().positive().optional(),
    padValue: z.number().int().min(0).max(255).optional(),
    colorOrder: z.enum(['RGB', 'BGR']).default('RGB'),
    background: triple.optional(),
    kernel: z.enum(['nearest', 'linear', 'cubic', 'lanczos3']).optional(),
    mean: triple.default([0, 0, 0]),
    std: triple.default([1, 1, 1]).refine((s) => s.every((v) => v !== 0), 'std must not contain 0'),
    scale: z
      .number()
      .positive()
      .default(1 / 255),
  })
  .strict();

const batchingSchema = z
  .object({
    maxBatchSize: z.number().int().min(1).max(1024).default(8),
    maxQueueDelayMs: z.number().min(0).max(10_000).default(2),
    preferredBatchSizes: z.array(z.number().int().min(1)).default([]),
    /** Hold a free instance for maxQueueDelayMs even when nothing else is on its way (fuller batches, a delay every item pays). */
    waitWhenIdle: z.boolean().optional(),
    maxQueueSize: z.number().int().min(1).default(1024),
    queueTimeoutMs: z.number().int().positive().optional(),
    /**
     * Deadline of one batch from dispatch to answer. A batch past it (a hung run, a worker that
     * died) fails with a retryable 503 and its worker is replaced, so a model never stops answering.
     */
    runTimeoutMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /** Latency budget for the queue: high-priority work is refused while its expected wait exceeds it. */
    maxQueueWaitMs: z.number().positive().max(600_000).optional(),
    /** Items of different sizes share a batch, padded to the largest (value 0 after normalisation). */
    padToLargest: z.boolean().default(false),
    /**
     * false: keep maxBatchSize and maxQueueDelayMs as written even when calibration at load
     * measures batches no cheaper per image than single images (by default it then turns batching off).
     */
    calibrate: z.boolean().optional(),
  })
  .strict()
  .default({ maxBatchSize: 8, maxQueueDelayMs: 2, preferredBatchSizes: [], maxQueueSize: 1024, runTimeoutMs: 30_000, padToLargest: false });

const manifestSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
    description: z.string().optional(),
    task: z.enum(tasks as [Task, ...Task[]]),
    backend: z.enum(['onnx', 'tfjs']).default('onnx'),
    /** A path to a `.onnx` file (onnx), or a TensorFlow.js `model.json` or bundled `model.min.js` (tfjs). */
    file: z.string().min(1),
    tfjs: z
      .object({
        /** Layers (Keras) or graph (converted SavedModel) model; read from model.json when absent. */
        format: z.enum(['layers', 'graph']).optional(),
      })
      .strict()
      .optional(),
    input: inputSchema,
    outputs: z.array(z.string().min(1)).optional(),
    head: z.record(z.string(), z.unknown()).default({}),
    /** Task "multi": several named heads over the outputs of one run, `{name: {task, ...options}}`. */
    heads: z.record(z.string(), z.unknown()).optional(),
    /** Task "multi": business rules over the items (see rules/), checked by the multi head's schema. */
    rules: z.unknown().optional(),
    batching: batchingSchema,
    /** Left out: chosen with intraOpThreads for the cores and the models loaded together (see instance-plan). */
    instances: z.number().int().min(1).max(64).optional(),
    device: z.enum(['cpu', 'cuda']).default('cpu'),
    deviceId: z.number().int().min(0).default(0),
    /** With `device: cuda`: fail the load instead of falling back to CPU. */
    strict: z.boolean().default(false),
    intraOpThreads: z.number().int().min(1).max(256).optional(),
    /** ONNX Runtime's CPU memory arena: faster runs, at the cost of keeping the largest batch's memory. */
    memoryArena: z.boolean().default(true),
    /** The Open Inference Protocol's names for the image path: a BYTES input of encoded images, and the BYTES output of the head's JSON answers. */
    openInference: z
      .object({ imageInput: z.string().min(1).default('image'), answerOutput: z.string().min(1).default('answer') })
      .strict()
      .default({ imageInput: 'image', answerOutput: 'answer' }),
    /** ONNX Runtime's CUDA execution provider (see `unappliedCudaOptions` for what the Node binding passes on). */
    cuda: z
      .object({
        arenaExtendStrategy: z.enum(['kNextPowerOfTwo', 'kSameAsRequested']).optional(),
        gpuMemLimit: z.number().int().positive().optional(),
        cudnnConvAlgoSearch: z.enum(['EXHAUSTIVE', 'HEURISTIC', 'DEFAULT']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RawManifest = z.infer<typeof manifestSchema>;
export type InputConfig = z.infer<typeof inputSchema>;
export type BatchingConfig = z.infer<typeof batchingSchema>;

/**
 * A validated manifest with every path resolved: what the repository loads and what workers receive.
 * The fields a backend reads to open the model are SessionSpec's.
 */
export interface ModelSpec extends SessionSpec {
  name: string;
  description: string | undefined;
  task: Task;
  /** Where the manifest came from. */
  manifestPath: string;
  input: InputConfig;
  imageSpec: ImageInputSpec;
  /** The head's parsed options; for task "multi", `{heads, rules}` (see heads/multi.ts). */
  head: Record<string, unknown>;
  batching: BatchingConfig;
  instances: number;
  cuda: RawManifest['cuda'];
  /** The Open Inference Protocol's image input and answer output names. */
  openInference: { imageInput: string; answerOutput: string };
  /** What the manifest itself fixes of `instances` and `intraOpThreads` (the rest is chosen). */
  fixed: { instances: number | undefined; intraOpThreads: number | undefined };
  /** How `instances` and `intraOpThreads` were chosen, when planned with the other models. */
  plan?: ModelPlan;
}

const fail = (file: string, field: string, message: string): never => {
  throw new ManifestError(`${file}: ${field ? `${field}: ` : ''}${message}`);
};

/** Head options may name files (labels, charset); they are read here so workers get plain values. */
function resolveHeadFiles(head: Record<string, unknown>, dir: string, manifestPath: string, at = 'head'): Record<string, unknown> {
  const out = { ...head };
  for (const [key, target] of [
    ['labelsFile', 'labels'],
    ['charsetFile', 'charset'],
  ] as const) {
    const ref = out[key];
    if (ref === undefined) continue;
    if (typeof ref !== 'string') fail(manifestPath, `${at}.${key}`, 'expected a path');
    const file = resolveModelPath(ref as string, dir);
    if (!file) fail(manifestPath, `${at}.${key}`, `file not found: ${ref as string}`);
    const lines = readFileSync(file!, 'utf8').split(/\r?\n/);
    // A trailing newline is not a label; a blank line in the middle is kept (it may be a real class).
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    delete out[key];
    out[target] = lines;
  }
  return out;
}

/** What the multi head parses: its named heads, each with its files read, and the rules. */
function multiHeadOptions(m: RawManifest, dir: string, manifestPath: string): Record<string, unknown> {
  if (Object.keys(m.head).length > 0) fail(manifestPath, 'head', 'task "multi" takes "heads" (name → {task, ...options}), not "head"');
  if (m.heads === undefined) return fail(manifestPath, 'heads', 'task "multi" needs heads: {"<name>": {"task": ..., ...options}}');
  const heads: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(m.heads)) {
    const plain = entry !== null && typeof entry === 'object' && !Array.isArray(entry);
    heads[name] = plain ? resolveHeadFiles(entry as Record<string, unknown>, dir, manifestPath, `heads.${name}`) : entry;
  }
  return m.rules === undefined ? { heads } : { heads, rules: m.rules };
}

/** A model file path: relative to the model folder, absolute, or inside an npm package. */
function resolveModelPath(ref: string, dir: string): string | undefined {
  const local = path.resolve(dir, ref);
  if (existsSync(local)) return local;
  if (!ref.startsWith('.') && !path.isAbsolute(ref)) return resolvePackageFile(ref, dir);
  return undefined;
}

/**
 * Reads and validates `<dir>/model.json`. Values the manifest leaves open default to one instance
 * using every core until `withPlan` applies the plan made with the other models.
 */
export function loadManifest(dir: string): ModelSpec {
  const manifestPath = path.join(dir, 'model.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return fail(manifestPath, '', e.code === 'ENOENT' ? 'not found' : `not valid JSON: ${e.message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(manifestPath, issue.path.join('.'), issue.message);
  }
  const m = parsed.data;
  const name = m.name ?? path.basename(dir);
  const file = resolveModelPath(m.file, dir) ?? fail(manifestPath, 'file', `model file not found: ${m.file}`);
  if (m.tfjs && m.backend !== 'tfjs') fail(manifestPath, 'tfjs', 'only for backend "tfjs"');
  if (m.backend === 'tfjs') {
    if (m.cuda) fail(manifestPath, 'cuda', 'ONNX Runtime options; backend "tfjs" does not take them');
    // TensorFlow places work on the first GPU it sees; which one is chosen per process, not per model.
    if (m.deviceId !== 0) fail(manifestPath, 'deviceId', 'backend "tfjs" uses the first visible GPU; choose it with CUDA_VISIBLE_DEVICES');
    if (!/\.(json|js)$/.test(file)) fail(manifestPath, 'file', 'backend "tfjs" loads a model.json or a bundled model .js file');
  }

  const { mean: _mean, std: _std, scale: _scale, name: _name, layout: _layout, dtype: _dtype, ...imageSpec } = m.input;
  const problems = imageInputSpecProblems(imageSpec);
  if (problems.length > 0) fail(manifestPath, 'input', problems.join('; '));

  const multi = m.task === 'multi';
  const headOptions = multi ? multiHeadOptions(m, dir, manifestPath) : resolveHeadFiles(m.head, dir, manifestPath);
  if (!multi && m.heads !== undefined) fail(manifestPath, 'heads', 'only with task "multi" (a single head goes in "head")');
  if (!multi && m.rules !== undefined) fail(manifestPath, 'rules', 'only with task "multi", whose heads make the items rules work on');
  const headParsed = headFor(m.task).options.safeParse(headOptions);
  if (!headParsed.success) {
    const issue = headParsed.error.issues[0];
    // The multi head's issues already start at `heads` or `rules`.
    fail(manifestPath, [...(multi ? [] : ['head']), ...issue.path].join('.'), issue.message);
  }
  for (const size of m.batching.preferredBatchSizes) {
    if (size > m.batching.maxBatchSize) fail(manifestPath, 'batching.preferredBatchSizes', `${size} exceeds maxBatchSize ${m.batching.maxBatchSize}`);
  }

  const instances = m.instances ?? 1;
  const intraOpThreads = m.intraOpThreads ?? Math.max(1, Math.floor(availableParallelism() / instances));

  return {
    name,
    description: m.description,
    task: m.task,
    backend: m.backend,
    tfjs: m.tfjs,
    file,
    manifestPath,
    input: m.input,
    imageSpec: imageSpec,
    outputs: m.outputs,
    head: headParsed.data as Record<string, unknown>,
    batching: m.batching,
    instances,
    device: m.device,
    deviceId: m.deviceId,
    strict: m.strict,
    intraOpThreads,
    memoryArena: m.memoryArena,
    cuda: m.cuda,
    openInference: m.openInference,
    fixed: { instances: m.instances, intraOpThreads: m.intraOpThreads },
  };
}

/** The spec with the plan's values where the manifest leaves them open (a fixed value stays). */
export function withPlan(spec: ModelSpec, plan: ModelPlan): ModelSpec {
  return { ...spec, instances: spec.fixed.instances ?? plan.instances, intraOpThreads: spec.fixed.intraOpThreads ?? plan.intraOpThreads, plan };
}

/** What the instance plan knows of a model: its fixed values and how large one run is. */
export function planInputFor(spec: ModelSpec): PlanInput {
  const { width, height, maxSide = 960, resize } = spec.input;
  // The largest tensor one image can make: fixed sides, else the side limit (default 960).
  const w = width ?? (resize === 'pad-to-multiple' || resize === 'fit-height' ? maxSide : undefined);
  const h = height ?? (resize === 'pad-to-multiple' ? maxSide : undefined);
  const inputElements = w !== undefined && h !== undefined ? w * h * 3 : undefined;
  let fileBytes: number | undefined;
  try {
    fileBytes = statSync(spec.file).size;
  } catch {
    fileBytes = undefined;
  }
  const tfjs = spec.backend === 'tfjs';
  const oneInstance = tfjs
    ? 'TensorFlow.js chooses its threads per process'
    : spec.device === 'cuda'
      ? 'a CUDA session per instance holds its own GPU memory'
      : undefined;
  // TensorFlow.js does not take a thread count per model; it is counted as one.
  const intraOpThreads = spec.fixed.intraOpThreads ?? (tfjs ? 1 : undefined);
  return { name: spec.name, instances: spec.fixed.instances, intraOpThreads, inputElements, fileBytes, oneInstance };
}
