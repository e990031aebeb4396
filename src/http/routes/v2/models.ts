import type { ModelRepository } from '../../../engine/repository.js';
import { json } from '../../reply.js';
import type { Route } from '../../router.js';
import {
  modelConfig as configSchema,
  modelMetadata as metadataSchema,
  modelNameParams,
  modelNotFound,
  modelReadyAnswer,
  modelVersionParams,
} from '../../schemas/open-inference.js';
import { parseParams } from '../../schemas/request-validation.js';
import { modelConfig } from '../../v2/model-config.js';
import { modelMetadata } from '../../v2/model-metadata.js';
import { servingTarget } from '../../v2/model-target.js';
import { protocolRoute } from '../../v2/protocol-route.js';

const NOT_SERVING = 'the model is loading, failed to load or is unloaded (Retry-After)';

/** The two documents of a model, served alike: its metadata and its Triton-style configuration. */
const DOCUMENTS = [
  { path: '', operationId: 'getModelMetadata', build: modelMetadata, answer: { description: 'the model', json: metadataSchema } },
  { path: '/config', operationId: 'getModelConfig', build: modelConfig, answer: { description: 'the configuration', json: configSchema } },
] as const;

/** What the reference says of each document: its summary for the serving version and for a named one, and its description. */
const REFERENCE: Record<(typeof DOCUMENTS)[number]['operationId'], { summary: { model: string; versioned: string }; description: string }> = {
  getModelMetadata: {
    summary: { model: 'Metadata of a model: platform, versions, inputs and outputs', versioned: 'Metadata of a model version' },
    description:
      'A model lists its own tensors as its runtime declares them (-1 for a variable dim). Its image input (BYTES, named by the ' +
      'manifest, default `image`) and answer output (default `answer`) are taken too but not listed; a pipeline lists those alone.',
  },
  getModelConfig: {
    summary: { model: "A model's configuration, as Triton writes one", versioned: "A model version's configuration, as Triton writes one" },
    description:
      'max_batch_size, inputs and outputs (dims without the batch dim when the model batches), dynamic batching and instances, ' +
      'for clients that size their requests from them (perf_analyzer). A request may hold more rows than max_batch_size: they are split across batches.',
  },
};

/** Model metadata and readiness, for the serving version or a version named in the path. */
export function modelRoutes(repo: ModelRepository): Route[] {
  const routes: Route[] = [];
  for (const versioned of [false, true]) {
    const params = versioned ? modelVersionParams : modelNameParams;
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    const suffix = versioned ? 'Version' : '';
    const target = (p: { name: string; version?: string }) => servingTarget(repo, p.name, p.version);
    const missing = modelNotFound(versioned);
    for (const doc of DOCUMENTS) {
      const { summary, description } = REFERENCE[doc.operationId];
      routes.push(
        protocolRoute({
          method: 'GET',
          path: `${base}${doc.path}`,
          handler: (ctx) => json(doc.build(target(parseParams(ctx, params)))),
          schema: {
            operationId: `${doc.operationId}${suffix}`,
            summary: versioned ? summary.versioned : summary.model,
            description,
            params,
            responses: { 200: doc.answer },
            errors: { 404: missing, 503: NOT_SERVING },
          },
        }),
      );
    }
    routes.push(
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
          errors: { 404: missing, 503: `not ready: ${NOT_SERVING}` },
        },
      }),
    );
  }
  return routes;
}
