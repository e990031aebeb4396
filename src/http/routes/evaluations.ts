import type { Config } from '../../config.js';
import { badRequest, notFound, unsupportedMediaType } from '../../errors.js';
import type { ModelRepository } from '../../engine/repository.js';
import type { ModelVersion } from '../../engine/model-version.js';
import { datasetNames, type DatasetFiles, folderFiles, MAX_DATASET_FILES } from '../../evaluation/dataset-files.js';
import { EVALUATION_TASKS, type EvaluationTask, type Layout } from '../../evaluation/dataset.js';
import { readDataset } from '../../evaluation/dataset-reader.js';
import { evaluationView } from '../../evaluation/evaluation-view.js';
import { ocrLinesField } from '../../evaluation/ocr-scorer.js';
import type { EvaluationRunner } from '../../evaluation/runner.js';
import type { ModelFacts, ScoreOptions } from '../../evaluation/scorers.js';
import { type ArchiveKind, archiveFiles, uploadFiles } from '../../evaluation/upload-files.js';
import type { Store } from '../../store/index.js';
import { isJsonMediaType, readJson } from '../body/json.js';
import { readMultipart } from '../body/multipart.js';
import { readRaw } from '../body/raw.js';
import type { RequestContext } from '../request-context.js';
import { json, noContent } from '../reply.js';
import type { Route } from '../router.js';
import {
  datasetList,
  evaluateFields,
  evaluateJson,
  evaluateMultipart,
  evaluateParams,
  evaluateQuery,
  evaluationPage,
  evaluationParams,
  evaluationView as evaluationViewSchema,
  listEvaluationsQuery,
  submittedEvaluation,
} from '../schemas/evaluations.js';
import { parseParams, parseQuery, parseWith, refuseQuery } from '../schemas/request-validation.js';

export interface EvaluationRouteDeps {
  store: Store;
  models: ModelRepository;
  runner: EvaluationRunner;
  config: Config;
}

const ARCHIVE_TYPES: Readonly<Record<string, ArchiveKind>> = {
  'application/x-tar': 'tar',
  'application/tar': 'tar',
  'application/gzip': 'tar',
  'application/x-gzip': 'tar',
  'application/x-compressed-tar': 'tar',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
};

/** A multipart upload holds at most this many files (the body limit still applies). */
export const MAX_UPLOAD_FILES = 10_000;

interface Options {
  layout?: Layout | undefined;
  topK?: number[] | undefined;
  positiveLabel?: string | undefined;
}

/** How the model's answers read: its labels, and for segmentation the class of uncovered pixels. */
function modelFacts(version: ModelVersion): ModelFacts {
  const head = version.spec.head;
  const labels = Array.isArray(head.labels) ? (head.labels as string[]) : [];
  if (version.spec.task !== 'segment') return { labels, background: 0 };
  // A probability map answers its last label; with one label the rest is background, class 0.
  if (labels.length === 1) return { labels: ['background', labels[0]], background: 0 };
  if (head.mode === 'probability') return { labels, background: 0 };
  return { labels, background: typeof head.background === 'number' ? head.background : 0 };
}

const MODEL_TASKS: readonly string[] = EVALUATION_TASKS.filter((t) => t !== 'ocr');
const COVERED = `evaluation covers ${MODEL_TASKS.join(', ')} models and OCR pipelines (lines with text and geometry)`;

/**
 * The model or pipeline, serving, of a task that can be evaluated, and how its answers read
 * (404, 503 or 400 before any body is read). A pipeline is evaluated as OCR when its answer
 * holds text lines with their geometry.
 */
function evaluableModel(models: ModelRepository, name: string): { task: EvaluationTask; facts: ModelFacts } {
  const pipeline = models.servingPipeline(name);
  if (pipeline !== undefined) {
    const linesField = ocrLinesField(pipeline);
    if (linesField === undefined) throw badRequest(`${name} is a pipeline whose answer holds no text lines with geometry; ${COVERED}`, { field: 'name' });
    return { task: 'ocr', facts: { labels: [], background: 0, linesField } };
  }
  const version = models.serving(name);
  const task = version.spec.task as string;
  if (!MODEL_TASKS.includes(task)) throw badRequest(`model ${name} is a ${task} model; ${COVERED}`, { field: 'name' });
  return { task: task as EvaluationTask, facts: modelFacts(version) };
}

/** Options from the query and from the body; one given in both is a 400 rather than a guess. */
function merged<Q extends Options & { name?: string | undefined }, B extends Options & { name?: string | undefined }>(
  query: Q,
  body: B,
): Options & { name?: string | undefined } {
  const both = (Object.keys(query) as Array<keyof Q>).find((k) => query[k] !== undefined && (body as Record<string, unknown>)[k as string] !== undefined);
  if (both !== undefined) throw badRequest(`${String(both)}: given in both the query and the body`, { field: String(both) });
  return { ...query, ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)) };
}

/** The dataset's files and the options, from whichever body form the client sent (options may also come in the query). */
async function readRequest(ctx: RequestContext, config: Config): Promise<{ files: DatasetFiles; source: 'folder' | 'upload'; options: Options }> {
  const type = ctx.mediaType;
  const archive = ARCHIVE_TYPES[type];
  const query = parseQuery(ctx, evaluateQuery);
  if (archive !== undefined) {
    const body = await readRaw(ctx, config.maxBodyBytes, 'dataset archive');
    return { files: archiveFiles(archive, body, query.name, config.maxBodyBytes * 4), source: 'upload', options: query };
  }
  if (type === 'multipart/form-data') {
    const body = await readMultipart(ctx, { fileBytes: config.maxFileBytes, files: MAX_UPLOAD_FILES, fields: 8, preservePath: true });
    const options = merged(query, parseWith(evaluateFields, body.fields));
    if (body.files.length === 0) throw badRequest('multipart body has no files: send each dataset file as a part named by its path', { field: 'files' });
    const entries = body.files.map((f) => ({ path: f.filename || f.field, bytes: f.bytes }));
    return { files: uploadFiles(entries, options.name), source: 'upload', options };
  }
  if (isJsonMediaType(type)) {
    if (query.name !== undefined) throw badRequest('name: names an upload; a folder is named by "dataset"', { field: 'name' });
    const body = parseWith(evaluateJson, await readJson(ctx, config.maxJsonBytes));
    return { files: await folderFiles(config.datasetsDir, body.dataset), source: 'folder', options: merged(query, body) };
  }
  const err = unsupportedMediaType(
    `expected application/json naming a dataset folder, a tar, tar.gz or zip archive (${Object.keys(ARCHIVE_TYPES).join(', ')}), ` +
      `or multipart/form-data files; got ${type || 'none'}`,
  );
  ctx.body.fail(err);
  throw err;
}

/** Evaluations: start one on a dataset, list them, read one with its report, delete; and the dataset folders. */
export function evaluationRoutes(deps: EvaluationRouteDeps): Route[] {
  const { store, models, runner, config } = deps;
  /** A stored evaluation with the live count of one in flight. */
  const live = <T extends { id: string; status: string; done: number; problems: number }>(e: T): T => {
    const progress = e.status === 'running' ? runner.progress(e.id) : undefined;
    return progress === undefined ? e : { ...e, done: progress.done, problems: progress.problems };
  };

  return [
    {
      method: 'POST',
      path: '/v1/models/:name/evaluate',
      handler: async (ctx) => {
        const { name } = parseParams(ctx, evaluateParams);
        ctx.logFields.model = name;
        const { task, facts } = evaluableModel(models, name);
        const { files, source, options } = await readRequest(ctx, config);
        if (options.positiveLabel !== undefined && !facts.labels.includes(options.positiveLabel)) {
          throw badRequest(`positiveLabel: ${JSON.stringify(options.positiveLabel)} is not one of the model's labels`, { field: 'positiveLabel' });
        }
        const dataset = await readDataset(files, { task, labels: facts.labels, ...(options.layout !== undefined ? { layout: options.layout } : {}) });
        const scoreOptions: ScoreOptions = {
          ...(options.topK !== undefined ? { topK: options.topK } : {}),
          ...(options.positiveLabel !== undefined ? { positiveLabel: options.positiveLabel } : {}),
        };
        const evaluation = await runner.submit({ model: name, dataset, source, facts, options: scoreOptions });
        return json({ id: evaluation.id, status: evaluation.status }, 202, { location: `/v1/evaluations/${evaluation.id}` });
      },
      schema: {
        operationId: 'evaluateModel',
        summary: 'Start an evaluation of a model on a labelled dataset',
        description:
          'Runs every image of the dataset through the model (its batcher, at low priority, so live requests keep their latency) ' +
          "and stores a report with the task's metrics. The dataset is a folder under `SIGHTLINE_DATASETS_DIR` named in JSON, or an upload: " +
          'a tar, tar.gz or zip archive as the body (options in the query), or multipart files each named by its path. ' +
          'Layouts: `imagefolder` (`<label>/<image>`), `csv` (`file,label`), `labels-txt` (`file<TAB>text`; for an OCR pipeline, the whole text), ' +
          '`ocr-lines` (`Label.txt` of `file<TAB>[{"transcription", "points"}, …]`, PaddleOCR\'s detection labels), `coco` (`annotations.json`), ' +
          '`yolo` (`<stem>.txt` beside images or under `labels/`), `masks` (`<stem>.mask.png` or `masks/<stem>.png`). ' +
          'Entries that cannot be used are counted and listed in the report, not fatal. ' +
          'Progress goes to the WebSocket topics `evaluations` and `evaluations/{id}`.',
        tags: ['Evaluations'],
        params: evaluateParams,
        query: evaluateQuery,
        body: {
          json: evaluateJson,
          multipart: evaluateMultipart,
          binary: Object.keys(ARCHIVE_TYPES),
          description:
            `an archive holds at most ${MAX_DATASET_FILES} files and unpacks to at most four times the body limit; ` +
            `multipart at most ${MAX_UPLOAD_FILES} files`,
        },
        responses: {
          202: {
            description: 'started (or queued behind another evaluation)',
            json: submittedEvaluation,
            headers: { Location: 'the evaluation: /v1/evaluations/{id}' },
          },
        },
        errors: {
          400:
            "a dataset no layout fits, a layout that does not fit the model's task, a model whose task cannot be evaluated " +
            '(or a pipeline that answers no text lines), an unsafe path in an upload, a damaged archive, or a bad option (`field` names it)',
          404: 'no model by this name, or no dataset folder by this name',
          413: 'the body, a file, or what an archive unpacks to is over its limit',
          415: 'not JSON, an archive or multipart',
          503: '`model_unavailable`: the model is not serving (with Retry-After)',
        },
      },
    },
    {
      method: 'GET',
      path: '/v1/evaluations',
      handler: async (ctx) => {
        const page = await store.evaluations.list(parseQuery(ctx, listEvaluationsQuery));
        return json({ items: page.items.map((e) => live(evaluationView(e))), nextCursor: page.nextCursor });
      },
      schema: {
        operationId: 'listEvaluations',
        summary: 'Evaluations, newest first, in pages (without their reports)',
        tags: ['Evaluations'],
        query: listEvaluationsQuery,
        responses: { 200: { description: 'a page of evaluations', json: evaluationPage } },
      },
    },
    {
      method: 'GET',
      path: '/v1/evaluations/:id',
      handler: async (ctx) => {
        const { id } = parseParams(ctx, evaluationParams);
        refuseQuery(ctx);
        const evaluation = await store.evaluations.get(id);
        if (evaluation === undefined) throw notFound(`evaluation ${id} not found`);
        return json(live({ ...evaluationView(evaluation), report: evaluation.report ?? null }));
      },
      schema: {
        operationId: 'getEvaluation',
        summary: 'An evaluation: its progress, and its report once succeeded',
        tags: ['Evaluations'],
        params: evaluationParams,
        responses: { 200: { description: 'the evaluation', json: evaluationViewSchema } },
        errors: { 404: 'no evaluation with this id' },
      },
    },
    {
      method: 'DELETE',
      path: '/v1/evaluations/:id',
      handler: async (ctx) => {
        const { id } = parseParams(ctx, evaluationParams);
        refuseQuery(ctx);
        if (!(await runner.delete(id))) throw notFound(`evaluation ${id} not found`);
        return noContent();
      },
      schema: {
        operationId: 'deleteEvaluation',
        summary: 'Delete an evaluation and its report (one in flight is stopped)',
        tags: ['Evaluations'],
        params: evaluationParams,
        responses: { 204: { description: 'deleted' } },
        errors: { 404: 'no evaluation with this id' },
      },
    },
    {
      method: 'GET',
      path: '/v1/datasets',
      handler: async (ctx) => {
        refuseQuery(ctx);
        return json({ items: (await datasetNames(config.datasetsDir)).map((name) => ({ name })) });
      },
      schema: {
        operationId: 'listDatasets',
        summary: 'The dataset folders an evaluation may name',
        tags: ['Evaluations'],
        responses: { 200: { description: 'folders directly under SIGHTLINE_DATASETS_DIR', json: datasetList } },
      },
    },
  ];
}
