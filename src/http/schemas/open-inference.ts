import { z } from 'zod';

/**
 * The Open Inference Protocol (KServe v2) over HTTP, with Triton's binary tensor data, model
 * repository, statistics and classification extensions: field names and shapes as the protocol
 * writes them. Request objects are loose (clients send fields of their own, such as Triton's
 * `model_name`); what sightline reads is checked.
 */

/** The protocol's error body, on every status from 400 up. */
export const protocolErrorBody = z.strictObject({ error: z.string().describe('what went wrong') }).meta({
  id: 'InferenceError',
  description: 'Every error of the Open Inference Protocol routes: `{"error": "<message>"}`.',
});

export const modelNameParams = z.strictObject({ name: z.string().describe("the model's name in the repository") });
export const modelVersionParams = z.strictObject({
  name: z.string().describe("the model's name in the repository"),
  version: z.string().describe('a version the model serves (sightline counts the loads of a model: 1, 2, …); another version is 404'),
});

/** What 404 means on a model's routes, unversioned or with a version in the path. */
export const modelNotFound = (versioned: boolean): string => (versioned ? 'no model by this name, or the version does not serve' : 'no model by this name');

const parameterValue = z.union([z.string(), z.number(), z.boolean()]);
export const parametersField = z.record(z.string(), parameterValue).describe('name → string, number or boolean').meta({ id: 'InferenceParameters' });

const shape = z.array(z.int().min(0, { error: 'must be a non-negative integer' }).max(Number.MAX_SAFE_INTEGER)).describe('dims, row-major');
const tensorData = z.array(z.unknown()).describe('the elements, row-major, flat or nested (numbers, booleans for BOOL, strings for BYTES)');

export const requestInput = z
  .looseObject({
    name: z.string().min(1),
    shape,
    datatype: z.string().describe('BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16 or BYTES'),
    parameters: parametersField.optional().describe('`binary_data_size`: the bytes of this input after the JSON header'),
    data: tensorData.optional().describe('the elements, unless they come as binary data'),
  })
  .meta({ id: 'InferenceRequestInput' });

export const requestOutput = z
  .looseObject({
    name: z.string().min(1),
    parameters: parametersField
      .optional()
      .describe('`binary_data`: return it as binary data; `classification`: the top N as "<value>:<index>[:<label>]" strings'),
  })
  .meta({ id: 'InferenceRequestOutput' });

export const inferRequest = z
  .looseObject({
    id: z.string().optional().describe('echoed in the answer'),
    parameters: parametersField.optional().describe('`binary_data_output`: every output as binary data unless an output says otherwise'),
    inputs: z.array(requestInput).min(1, { error: 'needs at least one input' }),
    outputs: z.array(requestOutput).optional().describe('the outputs to return; all of them when left out'),
  })
  .meta({
    id: 'InferenceRequest',
    description: 'The JSON inference request; with binary data it is the header, `Inference-Header-Content-Length` bytes long, and the tensors follow it.',
  });

export const responseOutput = z
  .strictObject({
    name: z.string(),
    datatype: z.string(),
    shape: z.array(z.int()),
    parameters: parametersField.optional().describe('`binary_data_size` when the output follows the JSON as binary data'),
    data: tensorData.optional(),
  })
  .meta({ id: 'InferenceResponseOutput' });

export const inferResponse = z
  .strictObject({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string().optional(),
    parameters: parametersField.optional(),
    outputs: z.array(responseOutput),
  })
  .meta({
    id: 'InferenceResponse',
    description: 'The inference response; with binary outputs it is the header, `Inference-Header-Content-Length` bytes long, and the tensors follow it.',
  });

export const serverMetadata = z
  .strictObject({ name: z.string(), version: z.string(), extensions: z.array(z.string()) })
  .meta({ id: 'ServerMetadata', description: "The server's name, version and the protocol extensions it supports." });

export const liveAnswer = z.strictObject({ live: z.literal(true) });
export const readyAnswer = z.strictObject({ ready: z.literal(true) });
export const modelReadyAnswer = z.strictObject({ name: z.string(), ready: z.literal(true) });

const metadataTensor = z
  .strictObject({ name: z.string(), datatype: z.string(), shape: z.array(z.int()).describe('-1 for a variable dim') })
  .meta({ id: 'MetadataTensor' });

export const modelMetadata = z
  .strictObject({
    name: z.string(),
    versions: z.array(z.string()).describe('the version serving now'),
    platform: z.string().describe('onnx_onnxv1 (ONNX Runtime), tensorflowjs_graphdef or tensorflowjs_layers (TensorFlow.js), ensemble (a pipeline)'),
    inputs: z.array(metadataTensor),
    outputs: z.array(metadataTensor),
  })
  .meta({ id: 'ModelMetadata' });

const configTensor = z.looseObject({ name: z.string(), data_type: z.string().describe('TYPE_FP32, TYPE_INT64, TYPE_STRING, …'), dims: z.array(z.int()) });

export const modelConfig = z
  .looseObject({
    name: z.string(),
    platform: z.string(),
    max_batch_size: z.int().describe('0: the model takes no batch dim; otherwise `dims` leave it out'),
    input: z.array(configTensor),
    output: z.array(configTensor),
  })
  .meta({ id: 'ModelConfig', description: "The model as Triton's model configuration (model_config.proto's fields) describes it." });

export const repositoryIndexRequest = z.looseObject({ ready: z.boolean().optional().describe('only the models ready for inference') });

export const repositoryIndex = z
  .array(
    z.strictObject({
      name: z.string(),
      version: z.string().optional(),
      state: z.enum(['READY', 'LOADING', 'UNLOADING', 'UNAVAILABLE']),
      reason: z.string(),
    }),
  )
  .meta({ id: 'RepositoryIndex', description: 'Every model of the repository, loaded or not.' });

export const repositoryActionRequest = z.looseObject({
  parameters: parametersField
    .optional()
    .describe('load: none are taken (models load from their folder as it is); unload: `unload_dependents` is accepted and has no effect'),
});

const duration = z.strictObject({ count: z.int(), ns: z.int() }).meta({ id: 'StatisticDuration' });

const modelStat = z
  .strictObject({
    name: z.string(),
    version: z.string(),
    last_inference: z.int().describe('milliseconds since the epoch; 0 before the first'),
    inference_count: z.int(),
    execution_count: z.int(),
    inference_stats: z.strictObject({
      success: duration,
      fail: duration,
      queue: duration,
      compute_input: duration,
      compute_infer: duration,
      compute_output: duration,
      cache_hit: duration,
      cache_miss: duration,
    }),
    batch_stats: z.array(z.strictObject({ batch_size: z.int(), compute_input: duration, compute_infer: duration, compute_output: duration })),
  })
  .meta({ id: 'ModelStatistics' });

export const statisticsAnswer = z.strictObject({ model_stats: z.array(modelStat) }).meta({ id: 'ModelStatisticsResponse' });
