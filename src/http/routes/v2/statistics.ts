import type { ModelRepository } from '../../../engine/repository.js';
import { json } from '../../reply.js';
import type { Route } from '../../router.js';
import { modelNameParams, modelNotFound, modelVersionParams, statisticsAnswer } from '../../schemas/open-inference.js';
import { parseParams } from '../../schemas/request-validation.js';
import { modelStatistics } from '../../v2/model-statistics.js';
import { servingTarget } from '../../v2/model-target.js';
import { protocolError } from '../../v2/protocol-error.js';
import { protocolRoute } from '../../v2/protocol-route.js';

const DESCRIPTION = [
  "Triton's statistics of the version serving now (a reload starts them again). The unit is the item: an image, or a row of a tensor",
  'request holding a batch. success and fail time items from entering the queue to their answer; queue is the wait before dispatch;',
  "compute_input, compute_infer and compute_output are the worker's tensor fill, runtime run and output handling, each item counted",
  "with its batch's time; batch_stats counts each run once, by batch size. Requests on /v1 count as well.",
].join(' ');

/** Triton's statistics extension: every serving model, one model, or one version. */
export function statisticsRoutes(repo: ModelRepository): Route[] {
  const one = (name: string, version?: string) => {
    const target = servingTarget(repo, name, version);
    if (target.kind === 'pipeline') throw protocolError(400, `'${name}' is a pipeline: its steps' models keep the statistics`);
    return modelStatistics(name, target.version);
  };
  return [
    protocolRoute({
      method: 'GET',
      path: '/v2/models/stats',
      handler: () => {
        const stats = [];
        for (const name of repo.names()) {
          if (repo.status(name)?.state !== 'ready' || repo.status(name)?.task === 'pipeline') continue;
          try {
            stats.push(one(name));
          } catch {
            // Unloaded between the two looks: it has no statistics now.
          }
        }
        return json({ model_stats: stats });
      },
      schema: {
        operationId: 'getAllModelStatistics',
        summary: 'Statistics of every serving model',
        description: DESCRIPTION,
        responses: { 200: { description: 'one entry per serving model', json: statisticsAnswer } },
      },
    }),
    ...[false, true].map((versioned) => {
      const params = versioned ? modelVersionParams : modelNameParams;
      return protocolRoute({
        method: 'GET',
        path: versioned ? '/v2/models/:name/versions/:version/stats' : '/v2/models/:name/stats',
        handler: (ctx) => {
          const p: { name: string; version?: string } = parseParams(ctx, params);
          return json({ model_stats: [one(p.name, p.version)] });
        },
        schema: {
          operationId: versioned ? 'getModelVersionStatistics' : 'getModelStatistics',
          summary: versioned ? 'Statistics of a model version' : 'Statistics of a model',
          description: DESCRIPTION,
          params,
          responses: { 200: { description: "the model's entry", json: statisticsAnswer } },
          errors: {
            400: "a pipeline (its steps' models keep the statistics)",
            404: modelNotFound(versioned),
            503: 'the model is not serving (Retry-After)',
          },
        },
      });
    }),
  ];
}
