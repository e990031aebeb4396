import { z } from 'zod';
import type { ModelStatus } from '../../engine/repository.js';

export const modelParams = z.object({ name: z.string().describe("the model's folder name in the repository") });

const device = z.strictObject({
  requested: z.enum(['cpu', 'cuda']).describe('what the manifest asks for'),
  actual: z.enum(['cpu', 'cuda']).describe('what runs'),
  runtime: z.enum(['onnxruntime-cpu', 'onnxruntime-cuda', 'tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm']).describe('the library and device that run the model'),
  fallbackReason: z.string().optional().describe('why `actual` differs from `requested`'),
  notes: z.array(z.string()).optional().describe('settings that could not be applied, and runtimes skipped, with why'),
  intraOpThreads: z.int().describe('threads one batch may use inside the runtime'),
  instances: z.int().describe('worker threads, each with its own session'),
});

const statusFields = {
  name: z.string(),
  state: z.enum(['loading', 'ready', 'failed', 'unloading', 'unloaded']),
  version: z.int().describe('how many times the model was loaded'),
  error: z.string().optional().describe('why the last load failed'),
  task: z.string().optional().describe('classify, detect, text-detect, text-recognize, raw or segment'),
  description: z.string().optional(),
  device: device.optional(),
  loadedAt: z.iso.datetime().optional(),
};

export const modelStatus = z.strictObject(statusFields).meta({ id: 'ModelStatus', description: 'A model in the repository and its state.' });

export const modelList = z.strictObject({ models: z.array(modelStatus).describe('by name') });

const batching = z.looseObject({
  maxBatchSize: z.int(),
  maxQueueDelayMs: z.number(),
  preferredBatchSizes: z.array(z.int()),
  maxQueueSize: z.int(),
  queueTimeoutMs: z.int().optional(),
  padToLargest: z.boolean(),
});

const spec = z
  .looseObject({
    name: z.string(),
    description: z.string().optional(),
    task: z.string(),
    backend: z.enum(['onnx', 'tfjs']),
    file: z.string().describe('absolute path of the model file'),
    manifestPath: z.string(),
    input: z.looseObject({ resize: z.string(), colorOrder: z.string(), layout: z.string(), dtype: z.string() }).describe('input image handling (see the model manifest)'),
    head: z.record(z.string(), z.unknown()).describe('head options; long label lists are summarised as `{count, first}`'),
    batching,
    instances: z.int(),
    device: z.enum(['cpu', 'cuda']),
    intraOpThreads: z.int(),
  })
  .describe('the validated manifest');

const statistics = z
  .looseObject({
    enqueued: z.int(),
    succeeded: z.int(),
    failed: z.int(),
    cancelled: z.int(),
    rejectedQueueFull: z.int(),
    rejectedTimeout: z.int(),
    rejectedUnavailable: z.int(),
    rejectedClosed: z.int(),
    dispatchedBatches: z.int(),
    dispatchedItems: z.int(),
    finishedBatches: z.int(),
    failedBatches: z.int(),
    batchSizeHistogram: z.record(z.string(), z.int()).describe('batch size → batches dispatched with that size'),
    queueNs: z.number(),
    queueMs: z.number(),
    computeNs: z.number(),
    computeMs: z.number(),
    queueLength: z.int(),
    peakQueueLength: z.int(),
    inFlight: z.int(),
    compute: z.strictObject({ batches: z.int(), fillMs: z.number(), runMs: z.number(), headMs: z.number() }),
    workerRestarts: z.int(),
  })
  .describe('infer statistics of the version serving now');

export const modelDetail = z
  .strictObject({
    ...statusFields,
    spec: spec.optional(),
    inputs: z.array(z.string()).optional().describe('ONNX input names'),
    outputs: z.array(z.string()).optional().describe('ONNX output names'),
    statistics: statistics.optional(),
    plan: z
      .strictObject({
        instances: z.int().describe('worker threads, each with its own session'),
        intraOpThreads: z.int().describe('threads one batch may use inside the runtime'),
        chosenBy: z.enum(['manifest', 'plan']).describe('`manifest` when the manifest fixes both values; `plan` when they were chosen for the cores and the models loaded together'),
        reason: z.string().describe('one line: the model size class, its share of the cores and how it was split'),
      })
      .optional()
      .describe('how instances and intraOpThreads were chosen: the sum of instances × intraOpThreads over all models stays within the cores (at least 1 × 1 each); small models get more single-threaded instances, big ones one instance with more threads'),
  })
  .meta({ id: 'ModelDetail', description: 'A model with its spec, device, batching and statistics (spec and statistics once a version is loaded).' });

/** Holds only when the two types accept the same values: a field added to ModelStatus must be added here too. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: [Same<z.output<typeof modelStatus>, ModelStatus>] = [true];
void checks;
