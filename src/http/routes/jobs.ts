import type { Config } from '../../config.js';
import { badRequest, found, SightlineError } from '../../errors.js';
import type { ModelRepository } from '../../engine/repository.js';
import { jobView } from '../../jobs/job-view.js';
import type { JobRunner } from '../../jobs/runner.js';
import type { ListJobsQuery, Store } from '../../store/index.js';
import { IMAGE_BODY_ERRORS, readImageBody } from '../image-input.js';
import type { RequestContext } from '../request-context.js';
import { json } from '../reply.js';
import type { Route } from '../router.js';
import { validatedRoute } from '../validated-route.js';
import {
  jobPage,
  jobParams,
  jobView as jobViewSchema,
  listJobsQuery,
  submitJobFields,
  submitJobHeaders,
  submitJobJson,
  submitJobMultipart,
  submitJobQuery,
  submittedJob,
} from '../schemas/jobs.js';
import { predictAnswer } from '../schemas/predict.js';
import { storeImage } from './images.js';
import { storedRoutes } from './stored-routes.js';

export interface JobRouteDeps {
  store: Store;
  models: ModelRepository;
  runner: JobRunner;
  config: Config;
}

interface Submission {
  model: string | undefined;
  image: Buffer | undefined;
  imageSha256: string | undefined;
}

/**
 * The model and the one image of a job, in any form the predict API takes (raw image body,
 * multipart `file`, JSON base64 `image`), or JSON `imageSha256` naming a stored image.
 * The model comes from `?model=` or a `model` field.
 */
async function readSubmission(ctx: RequestContext, config: Config, queryModel: string | undefined): Promise<Submission> {
  const body = await readImageBody(ctx, config, { json: submitJobJson, fields: submitJobFields });
  let submission: Submission;
  if (body.form === 'json') {
    const { model, image, imageSha256 } = body.json;
    submission = { model, image, imageSha256 };
  } else if (body.form === 'multipart') {
    if (body.images.length > 1) throw badRequest('a job takes one image; submit one job per image', { field: 'file' });
    submission = { model: body.fields.model, image: body.images[0], imageSha256: undefined };
  } else {
    submission = { model: undefined, image: body.image, imageSha256: undefined };
  }
  if (queryModel !== undefined && submission.model !== undefined && queryModel !== submission.model) {
    throw badRequest('model: the query and the body name different models', { field: 'model' });
  }
  return { ...submission, model: submission.model ?? queryModel };
}

/** Async jobs: submit, list, status, result, delete. */
export function jobRoutes(deps: JobRouteDeps): Route[] {
  const { store, models, runner, config } = deps;
  const limits = { maxInputPixels: config.maxImagePixels, maxInputBytes: config.maxFileBytes };

  /**
   * 404 for a model the repository does not hold, 503 (with Retry-After, as predict answers) for
   * one that cannot run now: unloaded or failed. A model still loading takes jobs: they wait.
   */
  const jobById = async (id: string) => found(await store.jobs.get(id), `job ${id}`);
  const jobViewById = async (id: string) => {
    const job = await store.jobs.get(id);
    return job === undefined ? undefined : jobView(job);
  };
  const jobPageOf = async (query: ListJobsQuery) => {
    const page = await store.jobs.list(query);
    return { items: page.items.map(jobView), nextCursor: page.nextCursor };
  };

  const knownModel = (name: string) => {
    if (models.status(name)?.state === 'loading') return;
    models.assertServing(name);
  };

  return [
    validatedRoute({
      method: 'POST',
      path: '/v1/jobs',
      handler: async (ctx, { headers, query }) => {
        const key = headers['Idempotency-Key'] ?? null;
        const queryModel = query.model;
        if (queryModel !== undefined) knownModel(queryModel); // before reading a large body
        const submission = await readSubmission(ctx, config, queryModel);
        if (submission.model === undefined) throw badRequest('model: name the model with ?model= or a "model" field', { field: 'model' });
        knownModel(submission.model);
        ctx.logFields.model = submission.model;
        // The image is durable before the job that needs it exists.
        const imageSha256 = submission.image !== undefined ? (await storeImage(store, submission.image, limits, 'image')).sha256 : submission.imageSha256!;
        const { job, created } = await store.jobs.create({ model: submission.model, imageSha256, idempotencyKey: key });
        if (created) runner.submit(job);
        // A repeated Idempotency-Key answers with the job it created, in its current state.
        return json({ id: job.id, status: job.status }, created ? 202 : 200, { location: `/v1/jobs/${job.id}` });
      },
      schema: {
        operationId: 'submitJob',
        summary: 'Queue a model run on one image',
        description:
          'The image (any predict body form, or JSON `imageSha256` of a stored image) is stored first, then the job is committed, then 202 ' +
          'is answered. Name the model with `?model=` or a `model` field.',
        tags: ['Jobs'],
        query: submitJobQuery,
        headers: submitJobHeaders,
        body: { image: true, multipart: submitJobMultipart, json: submitJobJson },
        responses: {
          202: { description: 'the job is queued', json: submittedJob, headers: { Location: 'the job: /v1/jobs/{id}' } },
          200: {
            description: 'a repeated Idempotency-Key: the job it made, in its current state',
            json: submittedJob,
            headers: { Location: 'the job: /v1/jobs/{id}' },
          },
        },
        errors: {
          400: 'bad input, including a malformed Idempotency-Key; `field` names it',
          404: 'no model by this name, or no stored image with this `imageSha256`',
          409: 'the Idempotency-Key was used for another model or image',
          ...IMAGE_BODY_ERRORS,
          503: '`model_unavailable`: the model is unloaded or failed to load (with Retry-After); a loading model takes jobs',
          507: '`insufficient_storage`: no disk space left for the image or the job (with Retry-After); nothing was stored',
        },
      },
    }),
    ...storedRoutes('/v1/jobs', 'job', 'Jobs', jobParams, {
      list: { operationId: 'listJobs', summary: 'Jobs, newest first, in pages', query: listJobsQuery, read: jobPageOf, json: jobPage },
      get: { operationId: 'getJob', summary: "A job's status, with timestamps and the error of a failed one", find: jobViewById, json: jobViewSchema },
      delete: { operationId: 'deleteJob', summary: 'Delete a job (one in flight is abandoned)', remove: (id) => runner.delete(id) },
    }),
    validatedRoute({
      method: 'GET',
      path: '/v1/jobs/:id/result',
      handler: async (_ctx, { params }) => {
        const job = await jobById(params.id);
        if (job.status === 'succeeded') return json(job.result);
        if (job.status === 'failed') {
          throw new SightlineError(409, 'job_failed', `job ${job.id} failed: ${job.error}`, { details: { status: job.status } });
        }
        throw new SightlineError(409, 'job_not_finished', `job ${job.id} is ${job.status}; the result is available once it succeeded`, {
          details: { status: job.status },
        });
      },
      schema: {
        operationId: 'getJobResult',
        summary: 'The predict answer of a succeeded job',
        tags: ['Jobs'],
        params: jobParams,
        responses: { 200: { description: "the model's answer, as POST /v1/models/{name}/predict gives it", json: predictAnswer } },
        errors: {
          404: 'no job with this id',
          409: '`job_not_finished` while the job is queued or running; `job_failed` (with the reason) for a failed job',
        },
      },
    }),
  ];
}
