import type { Config } from '../../config.js';
import { errorBody, found, SightlineError } from '../../errors.js';
import { predictionAnswer } from '../../engine/prediction-answer.js';
import { predict } from '../../engine/predictor.js';
import type { ModelRepository } from '../../engine/repository.js';
import type { Store } from '../../store/index.js';
import { IMAGE_BODY_ERRORS, readImageBody } from '../image-input.js';
import type { RequestContext } from '../request-context.js';
import { json } from '../reply.js';
import type { Route } from '../router.js';
import { validatedRoute } from '../validated-route.js';
import { modelDetail, modelList, modelParams, modelStatus } from '../schemas/models.js';
import { batchAnswer, predictAnswer, predictFields, predictJsonBody, predictMultipart } from '../schemas/predict.js';
import { storedImageBytes } from './images.js';

const elapsedMs = (ctx: RequestContext) => Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;

const UNKNOWN_MODEL = 'no model by this name in the repository';

/** Loading and unloading: the same request, answered with the model's status once the change is made. */
const LIFECYCLE = [
  {
    action: 'load',
    operationId: 'loadModel',
    summary: '(Re)load a model from disk without a restart',
    description: 'New instances come up, then traffic switches; requests in flight finish on the old ones.',
    answered: 'the model, ready',
    errors: {
      404: 'no folder with a model.json by this name',
      409: 'a reload failed (`model_load_failed`); the version loaded before keeps serving',
      500: 'the first load failed (`model_load_failed`): the model is now `failed`',
      503: 'the server is shutting down',
    },
  },
  {
    action: 'unload',
    operationId: 'unloadModel',
    summary: 'Stop serving a model',
    description: 'New requests get 503 at once; queued and running ones finish.',
    answered: 'the model, unloaded',
    errors: { 404: UNKNOWN_MODEL },
  },
] as const;

/** Model lifecycle and predict routes. */
export function modelRoutes(repo: ModelRepository, config: Config, store: Store): Route[] {
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };
  const predictJson = predictJsonBody(config.maxFiles);
  return [
    validatedRoute({
      method: 'GET',
      path: '/v1/models',
      handler: () => json({ replica: config.replicaId, models: repo.list() }),
      schema: {
        operationId: 'listModels',
        summary: 'Every model in the repository, with its state',
        tags: ['Models'],
        responses: { 200: { description: 'the models, by name', json: modelList } },
      },
    }),
    validatedRoute({
      method: 'GET',
      path: '/v1/models/:name',
      handler: (_ctx, { params: { name } }) => json(found(repo.detail(name), `model ${JSON.stringify(name)}`)),
      schema: {
        operationId: 'getModel',
        summary: 'A model: spec, state, device, batching and infer statistics',
        tags: ['Models'],
        params: modelParams,
        responses: { 200: { description: 'the model', json: modelDetail } },
        errors: { 404: UNKNOWN_MODEL },
      },
    }),
    ...LIFECYCLE.map(({ action, answered, ...doc }) =>
      validatedRoute({
        method: 'POST',
        path: `/v1/models/:name/${action}`,
        handler: async (_ctx, { params: { name } }) => json(await repo[action](name)),
        schema: { ...doc, tags: ['Models'], params: modelParams, responses: { 200: { description: answered, json: modelStatus } } },
      }),
    ),
    validatedRoute({
      method: 'POST',
      path: '/v1/models/:name/predict',
      handler: async (ctx, { params: { name: model } }) => {
        ctx.logFields.model = model;
        repo.assertServing(model); // 404/503 before reading a large body
        const body = await readImageBody(ctx, config, { json: predictJson, fields: predictFields });
        const images = body.form === 'image' ? [body.image] : body.form === 'multipart' ? body.images : body.json.images;
        if (body.form === 'json' && body.json.imageSha256 !== undefined) images.push(await storedImageBytes(store, body.json.imageSha256));
        const batch = body.form === 'multipart' ? images.length > 1 : body.form === 'json' && body.json.batch;
        // The signal is read when an image is queued: a request refused before then never makes one.
        const options = {
          get signal() {
            return ctx.signal;
          },
          priority: 'high' as const,
          limits,
        };
        // A batch image refused by its declared type (a data URL of text/plain) fails alone.
        const predictOne = async (bytes: Uint8Array | SightlineError) => {
          if (bytes instanceof SightlineError) throw bytes;
          return predict(repo, model, bytes, options);
        };
        if (!batch) {
          const p = await predictOne(images[0]);
          ctx.logFields.batchSize = p.batchSize;
          return json(predictionAnswer(model, p, elapsedMs(ctx)));
        }
        const settled = await Promise.allSettled(images.map(predictOne));
        const total = elapsedMs(ctx);
        return json({
          model,
          results: settled.map((s, index) => {
            if (s.status === 'fulfilled') return predictionAnswer(model, s.value, total);
            const e = errorBody(s.reason);
            return { index, error: { code: e.code, message: e.message } };
          }),
        });
      },
      schema: {
        operationId: 'predict',
        summary: 'Run images through a model',
        description:
          'One image is answered with its answer; several (JSON `images`, or several multipart files) with `results` in input order, where ' +
          'an image that fails gets an error entry instead of failing the batch.',
        tags: ['Predict'],
        params: modelParams,
        body: { image: true, multipart: predictMultipart(config.maxFiles), json: predictJson },
        responses: {
          200: { description: 'the answer (one image) or the answers (several)', json: predictAnswer.or(batchAnswer) },
        },
        errors: {
          404: 'no model by this name in the repository, or no stored image with this `imageSha256`',
          ...IMAGE_BODY_ERRORS,
          500: "the model failed to run, or its output does not fit its task's head",
          503: 'the model is not ready (loading, failed, unloaded), its queue is full, or the request waited too long in it',
        },
      },
    }),
  ];
}
