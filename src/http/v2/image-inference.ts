import type { TypedTensor } from '../../backends/element-types.js';
import type { ImageLimits } from '../../imaging/index.js';
import { predictionAnswer } from '../../engine/prediction-answer.js';
import { predict, type Prediction } from '../../engine/predictor.js';
import type { ModelRepository } from '../../engine/repository.js';
import { joinRows } from '../../engine/tensor-predictor.js';
import { decodeBase64 } from '../schemas/field-types.js';
import { classifications } from './classification.js';
import type { InferRequest, RequestedOutput, RequestTensor } from './infer-request.js';
import type { ResponseTensor } from './infer-response.js';
import { modelOutputs } from './model-metadata.js';
import type { Target } from './model-target.js';
import { protocolError } from './protocol-error.js';

const bad = (message: string) => protocolError(400, message);
const encoder = new TextEncoder();

export interface ImageInferOptions {
  signal: AbortSignal;
  limits: ImageLimits;
  /** Images one request may hold (the server's per-request file limit). */
  maxImages: number;
  /** Milliseconds since the request arrived, for each answer's latencyMs. */
  elapsedMs: () => number;
}

/** Each element of the image input as bytes: binary elements as they are; JSON strings as base64 or `data:` URLs (JSON cannot carry raw bytes). */
function imageBytes(input: RequestTensor): Uint8Array[] {
  if (input.strings === undefined) return input.elements ?? [];
  return input.strings.map((s, i) => {
    const bytes = decodeBase64(s);
    if (typeof bytes === 'string') throw bad(`input '${input.name}': element ${i} is ${bytes}; in JSON an image is a base64 string or data URL`);
    return bytes;
  });
}

/**
 * Encoded images (a BYTES input, one element per image) through the full path: sniffing,
 * decoding, resizing, the model's batcher and its head, or a pipeline's steps. Each image's
 * answer is the JSON /v1/models/{name}/predict gives it, as one element of the BYTES answer
 * output (the input's shape). A model's raw outputs come too when asked for by name, each
 * image's rows joined in order. One image that fails fails the request.
 */
export async function inferImages(
  repo: ModelRepository,
  target: Target,
  names: { imageInput: string; answerOutput: string },
  request: InferRequest,
  options: ImageInferOptions,
): Promise<ResponseTensor[]> {
  const model = target.name;
  const input = request.inputs.find((i) => i.name === names.imageInput && i.datatype === 'BYTES')!;
  const others = request.inputs.filter((i) => i !== input);
  if (others.length > 0)
    throw bad(
      `model '${model}' takes its images as BYTES input '${names.imageInput}' and nothing beside it; got ${others.map((i) => `'${i.name}'`).join(', ')}`,
    );
  const images = imageBytes(input);
  if (images.length === 0) throw bad(`input '${input.name}' holds no images`);
  if (images.length > options.maxImages) throw bad(`input '${input.name}' holds ${images.length} images; a request takes at most ${options.maxImages}`);

  const declared = target.kind === 'model' ? modelOutputs(target.version) : [];
  const asked: RequestedOutput[] = request.outputs ?? [{ name: names.answerOutput, binary: undefined }];
  const raw: string[] = [];
  for (const o of asked) {
    if (o.name === names.answerOutput) {
      if (o.classification !== undefined) throw bad(`output '${o.name}' is the head's JSON answer; classification applies to the model's tensor outputs`);
    } else if (declared.some((d) => d.name === o.name)) {
      raw.push(o.name);
    } else {
      const tensors = declared.length > 0 ? `, or its tensor outputs ${declared.map((d) => `'${d.name}'`).join(', ')}` : '';
      throw bad(`unexpected inference output '${o.name}' for model '${model}'; with images it gives '${names.answerOutput}'${tensors}`);
    }
  }

  const predictOptions = { signal: options.signal, priority: 'high' as const, limits: options.limits, ...(raw.length > 0 ? { keepOutputs: raw } : {}) };
  const predictions: Prediction[] = await Promise.all(images.map((bytes) => predict(repo, model, bytes, predictOptions)));
  const total = options.elapsedMs();
  const kept = raw.length > 0 ? joinOutputs(predictions, model) : {};
  const batched = target.kind === 'model' && target.version.tensorsBatch;
  return asked.map((o): ResponseTensor => {
    const binary = o.binary ?? request.binaryOutputs;
    if (o.name === names.answerOutput) {
      const elements = predictions.map((p) => encoder.encode(JSON.stringify(predictionAnswer(model, p, total))));
      return { name: o.name, shape: input.shape, binary, type: 'bytes', elements };
    }
    const t = kept[o.name];
    if (o.classification !== undefined) {
      const c = classifications(t, o.classification, batched, undefined, o.name);
      return { name: o.name, shape: c.shape, binary, type: 'bytes', elements: c.elements };
    }
    if (!binary && t.type === 'float16') throw bad(`sending FP16 data via JSON is not supported. Please use the binary data format for output ${o.name}`);
    return { name: o.name, shape: t.dims, binary, type: t.type, data: t.data };
  });
}

/** Each kept output of every image, joined along the first dim; images whose outputs differ in shape cannot share one tensor. */
function joinOutputs(predictions: readonly Prediction[], model: string): Record<string, TypedTensor> {
  try {
    return joinRows(
      predictions.map((p) => p.tensors ?? {}),
      model,
    );
  } catch {
    throw bad(`the images of this request give outputs of different shapes; send them in separate requests to get model '${model}''s tensors`);
  }
}
