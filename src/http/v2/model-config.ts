import { modelInputs, modelOutputs, type MetadataTensor } from './model-metadata.js';
import { PIPELINE_NAMES, type Target } from './model-target.js';

/** Triton's config names of the protocol's datatypes: TYPE_ and the name, BYTES as TYPE_STRING. */
const configType = (datatype: string) => `TYPE_${datatype === 'BYTES' ? 'STRING' : datatype}`;

/**
 * Triton's model configuration extension: the model as a Triton config (model_config.proto's
 * fields) describes it, for clients that size their requests from it (perf_analyzer reads
 * max_batch_size and the dims). A model whose inputs take a variable first dim batches: its
 * max_batch_size is the manifest's maxBatchSize and its dims leave the batch dim out. A request
 * may still hold more rows than that; they are split across batches.
 */
export function modelConfig(target: Target): Record<string, unknown> {
  if (target.kind === 'pipeline') {
    const bytes = (name: string) => ({ name, data_type: 'TYPE_STRING', dims: [-1] });
    return {
      name: target.name,
      platform: 'ensemble',
      max_batch_size: 0,
      input: [bytes(PIPELINE_NAMES.imageInput)],
      output: [bytes(PIPELINE_NAMES.answerOutput)],
    };
  }
  const { version } = target;
  const { spec } = version;
  const batched = version.tensorsBatch;
  const tensor = (t: MetadataTensor) => ({ name: t.name, data_type: configType(t.datatype), dims: batched ? t.shape.slice(1) : t.shape });
  const onnx = spec.backend === 'onnx';
  return {
    name: target.name,
    platform: onnx ? 'onnxruntime_onnx' : 'tensorflowjs',
    backend: onnx ? 'onnxruntime' : 'tensorflowjs',
    max_batch_size: batched ? spec.batching.maxBatchSize : 0,
    input: modelInputs(version).map(tensor),
    output: modelOutputs(version).map(tensor),
    ...(batched
      ? {
          dynamic_batching: {
            preferred_batch_size: spec.batching.preferredBatchSizes,
            max_queue_delay_microseconds: Math.round(spec.batching.maxQueueDelayMs * 1000),
          },
        }
      : {}),
    instance_group: [{ name: target.name, kind: (version.info?.device ?? spec.device) === 'cuda' ? 'KIND_GPU' : 'KIND_CPU', count: spec.instances }],
  };
}
