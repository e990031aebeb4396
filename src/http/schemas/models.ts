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

const pipelineStep = z.strictObject({
  id: z.string(),
  op: z.enum(['predict', 'crop', 'map', 'rotate', 'rules']).describe('`predict` runs a model on the image, `map` on every crop'),
  model: z.string().optional().describe('the model a predict or map step runs'),
  modelState: z
    .enum(['loading', 'ready', 'failed', 'unloading', 'unloaded', 'missing'])
    .optional()
    .describe("that model's state; `missing` when the repository does not hold it"),
});

const statusFields = {
  name: z.string(),
  state: z.enum(['loading', 'ready', 'failed', 'unloading', 'unloaded']),
  version: z.int().describe('how many times the model was loaded'),
  error: z.string().optional().describe('why the last load failed'),
  task: z.string().optional().describe('classify, detect, text-detect, text-recognize, raw, segment, box or multi'),
  description: z.string().optional(),
  device: device.optional(),
  loadedAt: z.iso.datetime().optional(),
  steps: z.array(pipelineStep).optional().describe("a pipeline's steps (task `pipeline`), in manifest order; it is ready while every step model is"),
};

export const modelStatus = z.strictObject(statusFields).meta({ id: 'ModelStatus', description: 'A model in the repository and its state.' });

export const modelList = z.strictObject({
  replica: z.string().describe('the replica that answered (SIGHTLINE_REPLICA_ID): behind a load balancer, which one this list is from'),
  models: z.array(modelStatus).describe('by name'),
});

const batching = z.looseObject({
  maxBatchSize: z.int(),
  maxQueueDelayMs: z.number(),
  preferredBatchSizes: z.array(z.int()),
  maxQueueSize: z.int(),
  queueTimeoutMs: z.int().optional(),
  padToLargest: z.boolean(),
  calibrate: z.boolean().optional().describe('false: batching kept as written whatever calibration measures'),
});

const spec = z
  .looseObject({
    name: z.string(),
    description: z.string().optional(),
    task: z.string(),
    backend: z.enum(['onnx', 'tfjs']),
    file: z.string().describe('absolute path of the model file'),
    manifestPath: z.string(),
    input: z
      .looseObject({ resize: z.string(), colorOrder: z.string(), layout: z.string(), dtype: z.string() })
      .describe('input image handling (see the model manifest)'),
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

const heapFields = {
  threadId: z.int().describe("the worker thread's id"),
  heapUsedBytes: z.int().describe("live objects in the worker's V8 heap"),
  heapTotalBytes: z.int().describe("the worker's V8 heap as reserved from the system"),
  externalBytes: z.int().describe("memory held outside the heap by the worker's JavaScript objects (typed arrays, buffers)"),
};

const memory = z
  .strictObject({
    rssBytesAtLoad: z
      .int()
      .describe("sum over the instances of the process RSS growth while each loaded its model (models loading at the same time count in each other's figure)"),
    fileBytes: z.int().optional().describe("the model file's size on disk"),
    instances: z
      .array(z.strictObject({ ...heapFields, loadRssBytes: z.int().describe('process RSS growth while this instance loaded its model') }))
      .describe("each instance's worker heap, as of its last batch (or its load)"),
    largestBatch: z
      .strictObject({ items: z.int(), inputBytes: z.int().describe("bytes of that batch's input tensor") })
      .optional()
      .describe("the largest batch run so far: what the runtime's buffers were sized for"),
    arenaPolicy: z
      .strictObject({
        cpuMemArena: z.boolean().describe("ONNX Runtime's CPU arena: buffers are kept for reuse at the size of the largest batch seen"),
        memPattern: z.boolean().describe('one block planned per input shape, on top of the arena'),
        reason: z.string(),
      })
      .optional()
      .describe('how ONNX Runtime keeps CPU memory between runs (ONNX models)'),
  })
  .describe("what this model's version holds, as far as it can be measured (see the README's Memory section)");

const calibrationRun = z.strictObject({
  intraOpThreads: z.int(),
  batchSize: z.int(),
  msPerBatch: z.number().describe('the fastest timed run, after a warm-up run'),
  msPerImage: z.number(),
  samples: z.int().describe('timed runs taken'),
  clock: z
    .enum(['wall-minus-wait', 'wall'])
    .describe(
      "`wall-minus-wait`: a single-threaded run's elapsed time less its thread's wait for a core, " +
        'so other load on the machine does not count; `wall`: elapsed time',
    ),
});

const calibration = z
  .strictObject({
    source: z
      .enum(['measured', 'cache'])
      .describe('`measured` at this load, or `cache`: figures measured earlier for the same model file (SHA-256), cores and candidates'),
    input: z.strictObject({ width: z.int(), height: z.int() }).describe("the synthetic batch's image size"),
    cores: z.int(),
    runs: z.array(calibrationRun).describe('each configuration timed'),
    candidates: z
      .array(
        z.strictObject({ instances: z.int(), intraOpThreads: z.int(), imagesPerSecond: z.number().describe('estimated at batch 1, instances side by side') }),
      )
      .describe('the instances × intraOpThreads candidates measured'),
    batching: z.strictObject({
      batchSize: z.int().describe('the largest batch measured (maxBatchSize)'),
      perImageRatio: z
        .number()
        .nullable()
        .describe('time per image at that batch ÷ at batch 1 (each batch with a fixed 0.5 ms outside the run); null when not measured'),
      decision: z.enum(['kept', 'off', 'not measured']).describe('`off`: batches are not cheaper per image (ratio ≥ 0.95), so maxBatchSize 1 and no delay'),
    }),
    measureMs: z.int().describe('wall time the measurement took at load (0 from the cache)'),
  })
  .describe('what was measured at load on a synthetic batch, for ONNX models on CPU whose manifest leaves instances or intraOpThreads open');

export const modelDetail = z
  .strictObject({
    ...statusFields,
    spec: spec.optional(),
    inputs: z.array(z.string()).optional().describe('ONNX input names'),
    outputs: z.array(z.string()).optional().describe('ONNX output names'),
    statistics: statistics.optional(),
    memory: memory.optional(),
    plan: z
      .strictObject({
        instances: z.int().describe('worker threads, each with its own session'),
        intraOpThreads: z.int().describe('threads one batch may use inside the runtime'),
        chosenBy: z
          .enum(['manifest', 'plan', 'calibration'])
          .describe('`manifest` when the manifest fixes both values; `plan` when the size rule chose them; `calibration` when figures measured at load did'),
        reason: z.string().describe('one line: what was measured (or the model size class) and why this choice'),
        calibration: calibration.optional(),
      })
      .optional()
      .describe(
        'how instances and intraOpThreads were chosen: each model may have up to the cores of instances × intraOpThreads, ' +
          'and the run ledger keeps the runs of all models together within the cores; ' +
          'without calibration, small models get single-threaded instances, big ones one instance with threads',
      ),
  })
  .meta({ id: 'ModelDetail', description: 'A model with its spec, device, batching and statistics (spec and statistics once a version is loaded).' });

/** Holds only when the two types accept the same values: a field added to ModelStatus must be added here too. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const checks: [Same<z.output<typeof modelStatus>, ModelStatus>] = [true];
void checks;
