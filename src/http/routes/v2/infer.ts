import type { Config } from '../../../config.js';
import type { ModelRepository } from '../../../engine/repository.js';
import type { RequestContext } from '../../request-context.js';
import type { Route } from '../../router.js';
import { inferRequest, inferResponse as responseSchema, modelNameParams, modelNotFound, modelVersionParams } from '../../schemas/open-inference.js';
import { parseParams } from '../../schemas/request-validation.js';
import { isDatatype } from '../../v2/datatypes.js';
import { inferImages } from '../../v2/image-inference.js';
import { HEADER_LENGTH, headerLengthOf, parseInferRequest, rawBinaryRequest, type InferRequest } from '../../v2/infer-request.js';
import { inferResponse } from '../../v2/infer-response.js';
import { modelInputs } from '../../v2/model-metadata.js';
import { PIPELINE_NAMES, servingTarget, type Target } from '../../v2/model-target.js';
import { protocolError } from '../../v2/protocol-error.js';
import { protocolRoute } from '../../v2/protocol-route.js';
import { inferTensors } from '../../v2/tensor-inference.js';

const elapsedMs = (ctx: RequestContext) => Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;

/** Triton's raw binary request: the body is the data of the model's one input (a pipeline's: one image). */
function rawRequest(target: Target, body: Uint8Array): InferRequest {
  if (target.kind === 'pipeline') return rawBinaryRequest(body, { name: PIPELINE_NAMES.imageInput, datatype: 'BYTES', shape: [1] });
  const inputs = modelInputs(target.version);
  const only = inputs[0];
  if (inputs.length !== 1 || only === undefined || !isDatatype(only.datatype)) {
    throw protocolError(
      400,
      `a raw binary request (Inference-Header-Content-Length: 0) needs a model with one input; model '${target.name}' has ${inputs.length}`,
    );
  }
  return rawBinaryRequest(body, { name: only.name, datatype: only.datatype, shape: only.shape });
}

/** POST /v2/models/{name}[/versions/{version}]/infer. */
export function inferRoutes(repo: ModelRepository, config: Config): Route[] {
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  return [false, true].map((versioned) => {
    const params = versioned ? modelVersionParams : modelNameParams;
    return protocolRoute({
      method: 'POST',
      path: versioned ? '/v2/models/:name/versions/:version/infer' : '/v2/models/:name/infer',
      handler: async (ctx) => {
        const p: { name: string; version?: string } = parseParams(ctx, params);
        ctx.logFields.model = p.name;
        // 404 and 503 before a large body is read.
        const target = servingTarget(repo, p.name, p.version);
        const body = await ctx.body.collect(config.maxBodyBytes, 'request body');
        const headerLength = headerLengthOf(ctx.headers[HEADER_LENGTH], body.byteLength);
        const request = headerLength === 0 ? rawRequest(target, body) : parseInferRequest(body, headerLength, p.name);
        const names = target.kind === 'pipeline' ? PIPELINE_NAMES : target.version.spec.openInference;
        const images = request.inputs.some((i) => i.name === names.imageInput && i.datatype === 'BYTES');
        if (target.kind === 'pipeline' && !images)
          throw protocolError(400, `pipeline '${p.name}' takes encoded images only, as BYTES input '${names.imageInput}'`);
        const header = (version: number) => ({ model_name: p.name, model_version: String(version), ...(request.id !== undefined ? { id: request.id } : {}) });
        if (images || target.kind === 'pipeline') {
          const outputs = await inferImages(repo, target, names, request, {
            signal: ctx.signal,
            limits,
            maxImages: config.maxFiles,
            elapsedMs: () => elapsedMs(ctx),
          });
          return inferResponse(header(target.kind === 'pipeline' ? target.version : target.version.version), outputs);
        }
        const result = await inferTensors(repo, p.name, target.version, request, ctx.signal);
        ctx.logFields.batchSize = result.rows;
        return inferResponse(header(result.version.version), result.outputs);
      },
      schema: {
        operationId: versioned ? 'inferVersion' : 'infer',
        summary: versioned ? 'Inference on a model version' : "Inference: tensors in the model's own layout, or encoded images",
        description: [
          [
            'Tensors named and shaped as the model declares them (its metadata) go straight to its dynamic batcher, skipping imaging and the head,',
            'and the raw outputs come back; a request whose inputs hold a batch (first dim N) is split into N items that batch with other',
            "requests' items and are joined back in order.",
          ],
          [
            'A BYTES input named as the manifest says (default `image`), one element per encoded image, runs the full image path instead;',
            "its BYTES output (default `answer`) holds each image's JSON answer as `/v1/models/{name}/predict` gives it, and the model's raw",
            'outputs come too when asked for by name. Pipelines take only this form. In JSON an image element is a base64 string or data URL.',
          ],
          [
            "Binary tensor data (Triton's extension): the JSON header, `Inference-Header-Content-Length` bytes long, is followed by the",
            'inputs with `binary_data_size`, in input order; outputs with `binary_data` (or all, with `binary_data_output`) follow the',
            "answer's header the same way. `Inference-Header-Content-Length: 0` sends the data of a one-input model's input alone (Triton's",
            'raw binary request). `classification: N` on an output answers its top N classes as "<value>:<index>[:<label>]".',
          ],
        ]
          .map((lines) => lines.join(' '))
          .join('\n\n'),
        params,
        body: { json: inferRequest, binary: ['application/octet-stream'], description: 'JSON; or its JSON header followed by binary tensor data' },
        responses: {
          200: {
            description: 'the outputs: JSON, or the JSON header followed by binary outputs',
            json: responseSchema,
            contentType: 'application/octet-stream',
            headers: { 'inference-header-content-length': 'with binary outputs: the bytes of the JSON header before them' },
          },
        },
        errors: {
          400:
            'a bad request: unknown input or output, wrong datatype or shape, data that does not match its shape, ' +
            'a header length or binary_data_size that does not match the body',
          404: modelNotFound(versioned),
          500: 'the model failed to run',
          503: 'the model is not ready, its queue is full, or the request waited too long in it (Retry-After)',
        },
      },
    });
  });
}
