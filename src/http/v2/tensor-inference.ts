import type { ModelVersion } from '../../engine/model-version.js';
import type { ModelRepository } from '../../engine/repository.js';
import type { TensorInput } from '../../engine/tensor-item.js';
import { predictTensors } from '../../engine/tensor-predictor.js';
import { classifications } from './classification.js';
import { DATATYPES } from './datatypes.js';
import type { InferRequest, RequestedOutput } from './infer-request.js';
import type { ResponseTensor } from './infer-response.js';
import { modelInputs, modelOutputs, type MetadataTensor } from './model-metadata.js';
import { protocolError } from './protocol-error.js';

const bad = (message: string) => protocolError(400, message);
const list = (dims: readonly number[]) => `[${dims.join(',')}]`;

/** The labels of the model's head, for an output with one value per label in each row. */
function labelsFor(version: ModelVersion, perRow: number): readonly string[] | undefined {
  const labels = version.spec.head.labels;
  return Array.isArray(labels) && labels.length === perRow && labels.every((l) => typeof l === 'string') ? labels : undefined;
}

/** The request's inputs, checked against the model's as Triton checks them: names, datatypes, shapes, a shared batch dim. */
function modelTensors(model: string, version: ModelVersion, request: InferRequest): TensorInput[] {
  const declared = modelInputs(version);
  for (const input of request.inputs) {
    if (!declared.some((d) => d.name === input.name)) {
      const takes = declared.map((d) => `'${d.name}' (${d.datatype})`).join(', ');
      const images = input.datatype === 'BYTES' ? `, and encoded images as BYTES input '${version.spec.openInference.imageInput}'` : '';
      throw bad(`unexpected inference input '${input.name}' for model '${model}'; it takes ${takes}${images}`);
    }
  }
  const missing = declared.filter((d) => !request.inputs.some((i) => i.name === d.name));
  if (missing.length > 0) {
    const names = missing.map((d) => `'${d.name}'`).join(', ');
    throw bad(`expected ${declared.length} inputs but got ${request.inputs.length} inputs for model '${model}': ${names} missing`);
  }
  const tensors = declared.map((d: MetadataTensor): TensorInput => {
    const input = request.inputs.find((i) => i.name === d.name);
    if (input === undefined) throw bad(`input '${d.name}' is missing`);
    if (input.datatype !== d.datatype) throw bad(`inference input '${d.name}' data-type is '${input.datatype}', but model '${model}' expects '${d.datatype}'`);
    const type = DATATYPES[input.datatype];
    if (type === undefined || input.bytes === undefined)
      throw bad(`input '${d.name}' of model '${model}' is ${d.datatype}, which sightline does not feed a model`);
    const fits = input.shape.length === d.shape.length && input.shape.every((n, k) => d.shape[k] === -1 || d.shape[k] === n);
    if (!fits) throw bad(`unexpected shape for input '${d.name}' for model '${model}'. Expected ${list(d.shape)}, got ${list(input.shape)}`);
    return { name: d.name, type, dims: input.shape, bytes: input.bytes };
  });
  const first = tensors[0];
  if (version.tensorsBatch && tensors.some((t) => t.dims[0] !== first?.dims[0])) {
    const dims = tensors.map((t) => `${t.name}: ${t.dims[0]}`).join(', ');
    throw bad(`the inputs of model '${model}' differ in their first dim (${dims}); it is the batch, which every input shares`);
  }
  if (version.spec.backend === 'tfjs' && (tensors.length !== 1 || !['float32', 'int32', 'uint8'].includes(first?.type ?? ''))) {
    throw bad(`model '${model}' runs on TensorFlow.js, which takes one FP32, INT32 or UINT8 input here`);
  }
  return tensors;
}

/**
 * Tensors in the model's own layout, straight to its dynamic batcher (see predictTensors); the
 * answer is the raw outputs, or the classes asked for (classification extension). Outputs asked
 * for by name must be the model's; JSON cannot carry FP16, so such an output must be binary.
 */
export async function inferTensors(
  repo: ModelRepository,
  model: string,
  version: ModelVersion,
  request: InferRequest,
  signal: AbortSignal,
): Promise<{ version: ModelVersion; outputs: ResponseTensor[]; rows: number }> {
  const tensors = modelTensors(model, version, request);
  const declared = modelOutputs(version);
  const asked: RequestedOutput[] = request.outputs ?? declared.map((d) => ({ name: d.name, binary: undefined }));
  for (const o of asked) {
    const d = declared.find((x) => x.name === o.name);
    if (d === undefined) throw bad(`unexpected inference output '${o.name}' for model '${model}'; it gives ${declared.map((x) => `'${x.name}'`).join(', ')}`);
    const binary = o.binary ?? request.binaryOutputs;
    if (!binary && o.classification === undefined && d.datatype === 'FP16') {
      throw bad(`sending FP16 data via JSON is not supported. Please use the binary data format for output ${o.name}`);
    }
  }
  const result = await predictTensors(repo, model, tensors, { signal, ...(request.outputs ? { outputs: asked.map((o) => o.name) } : {}) });
  const batched = result.version.tensorsBatch;
  const outputs = asked.map((o): ResponseTensor => {
    const t = result.outputs[o.name];
    if (t === undefined) throw protocolError(500, `model '${model}' gave no output '${o.name}'`);
    const binary = o.binary ?? request.binaryOutputs;
    if (o.classification !== undefined) {
      const rows = batched && t.dims.length > 0 ? t.dims[0] : 1;
      const perRow = rows === 0 ? 0 : t.data.length / rows;
      const c = classifications(t, o.classification, batched, labelsFor(result.version, perRow), o.name);
      return { name: o.name, shape: c.shape, binary, type: 'bytes', elements: c.elements };
    }
    return { name: o.name, shape: t.dims, binary, type: t.type, data: t.data };
  });
  return { version: result.version, outputs, rows: tensors[0]?.dims[0] ?? 1 };
}
