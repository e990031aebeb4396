import type { ModelRepository } from '../../../engine/repository.js';
import { json } from '../../reply.js';
import type { Route } from '../../router.js';
import {
  modelConfig as configSchema,
  modelMetadata as metadataSchema,
  modelNameParams,
  modelReadyAnswer,
  modelVersionParams,
} from '../../schemas/open-inference.js';
import { parseParams } from '../../schemas/request-validation.js';
import { modelConfig } from '../../v2/model-config.js';
import { modelMetadata } from '../../v2/model-metadata.js';
import { servingTarget } from '../../v2/model-target.js';
import { protocolRoute } from '../../v2/protocol-route.js';

const NOT_SERVING = 'the model is loading, failed to load or is unloaded (Retry-After)';

/** Model metadata and readiness, for the serving version or a version named in the path. */
export function modelRoutes(repo: ModelRepository): Route[] {
  const routes: Route[] = [];
  for (const versioned of [false, true]) {
    const params = versioned ? modelVersionParams : modelNameParams;
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    const suffix = versioned ? 'Version' : '';
    const target = (p: { name: string; version?: string }) => servingTarget(repo, p.name, p.version);
    routes.push(
      protocolRoute({
        method: 'GET',
        path: base,
        handler: (ctx) => json(modelMetadata(target(parseParams(ctx, params)))),
        schema: {
          operationId: `getModelMetadata${suffix}`,
          summary: versioned ? 'Metadata of a model version' : 'Metadata of a model: platform, versions, inputs and outputs',
          description:
            'A model lists its own tensors as its runtime declares them (-1 for a variable dim). Its image input (BYTES, named by the ' +
            'manifest, default `image`) and answer output (default `answer`) are taken too but not listed; a pipeline lists those alone.',
          params,
          responses: { 200: { description: 'the model', json: metadataSchema } },
          errors: { 404: versioned ? 'no model by this name, or the version does not serve' : 'no model by this name', 503: NOT_SERVING },
        },
      }),
      protocolRoute({
        method: 'GET',
        path: `${base}/config`,
        handler: (ctx) => json(modelConfig(target(parseParams(ctx, params)))),
        schema: {
          operationId: `getModelConfig${suffix}`,
          summary: versioned ? "A model version's configuration, as Triton writes one" : "A model's configuration, as Triton writes one",
          description:
            'max_batch_size, inputs and outputs (dims without the batch dim when the model batches), dynamic batching and instances, ' +
            'for clients that size their requests from them (perf_analyzer). A request may hold more rows than max_batch_size: they are split across batches.',
          params,
          responses: { 200: { description: 'the configuration', json: configSchema } },
          errors: { 404: versioned ? 'no model by this name, or the version does not serve' : 'no model by this name', 503: NOT_SERVING },
        },
      }),
      protocolRoute({
        method: 'GET',
        path: `${base}/ready`,
        handler: (ctx) => {
          const p = parseParams(ctx, params);
          target(p);
          return json({ name: p.name, ready: true });
        },
        schema: {
          operationId: `getModelReady${suffix}`,
          summary: versioned ? 'Whether a model version is ready for inference' : 'Whether a model is ready for inference',
          params,
          responses: { 200: { description: 'ready', json: modelReadyAnswer } },
          errors: { 404: versioned ? 'no model by this name, or the version does not serve' : 'no model by this name', 503: `not ready: ${NOT_SERVING}` },
        },
      }),
    );
  }
  return routes;
}
