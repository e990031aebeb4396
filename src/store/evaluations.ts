import type { Kysely } from 'kysely';
import { badRequest } from '../errors.js';
import type { GroupCommitWriter } from './group-commit.js';
import { newId, normaliseId } from './ids.js';
import { fromJsonText, toJsonText } from './json-text.js';
import { type Page, pageRequest, readPage } from './pagination.js';
import { deleteById, transitionById } from './rows-by-id.js';
import type { EvaluationStatus, EvaluationsTable, StoreSchema } from './schema.js';

export type { EvaluationStatus } from './schema.js';
export const EVALUATION_STATUSES: readonly EvaluationStatus[] = ['queued', 'running', 'succeeded', 'failed'];

/** An evaluation as listings show it: everything but the full report. */
export interface EvaluationSummary {
  id: string;
  model: string;
  /** The model version it ran against (the repository's load counter). */
  modelVersion: number | null;
  task: string;
  dataset: string;
  layout: string;
  status: EvaluationStatus;
  /** Images evaluated so far, and in all. */
  done: number;
  total: number;
  /** Dataset entries reported and left out (annotations, then unreadable images). */
  problems: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The headline figures of a finished evaluation (accuracy, mAP, CER, mIoU…). */
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface Evaluation extends EvaluationSummary {
  /** The whole report of a succeeded evaluation. */
  report: unknown;
}

export interface CreateEvaluationInput {
  model: string;
  modelVersion: number | null;
  task: string;
  dataset: string;
  layout: string;
  total: number;
  problems: number;
}

export interface ListEvaluationsQuery {
  model?: string;
  limit?: number;
  cursor?: string | null;
}

export interface EvaluationRepository {
  create(input: CreateEvaluationInput): Promise<Evaluation>;
  get(id: string): Promise<Evaluation | undefined>;
  /** Newest first, without reports. */
  list(query?: ListEvaluationsQuery): Promise<Page<EvaluationSummary>>;
  delete(id: string): Promise<boolean>;
  /** queued → running. */
  markRunning(id: string): Promise<Evaluation>;
  /** running → succeeded, with the report, its summary and the final counts. */
  markSucceeded(id: string, outcome: { report: unknown; summary: Record<string, unknown>; done: number; problems: number }): Promise<Evaluation>;
  /** queued or running → failed. */
  markFailed(id: string, error: string, done?: number): Promise<Evaluation>;
  /** Marks every queued or running evaluation failed (their datasets are gone with the process); returns how many. */
  failUnfinished(error: string): Promise<number>;
}

const MAX_ERROR_LENGTH = 8000;

const SUMMARY_COLUMNS = [
  'id',
  'model',
  'model_version',
  'task',
  'dataset',
  'layout',
  'status',
  'done',
  'total',
  'problems',
  'created_at',
  'started_at',
  'finished_at',
  'summary',
  'error',
] as const;

type SummaryRow = Pick<EvaluationsTable, (typeof SUMMARY_COLUMNS)[number]>;

function toSummary(row: SummaryRow): EvaluationSummary {
  return {
    id: row.id,
    model: row.model,
    modelVersion: row.model_version === null ? null : Number(row.model_version),
    task: row.task,
    dataset: row.dataset,
    layout: row.layout,
    status: row.status,
    done: Number(row.done),
    total: Number(row.total),
    problems: Number(row.problems),
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    summary: fromJsonText(row.summary) as Record<string, unknown> | null,
    error: row.error,
  };
}

const toEvaluation = (row: EvaluationsTable): Evaluation => ({ ...toSummary(row), report: fromJsonText(row.report) });

function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 255)
    throw badRequest(`${field} must be a non-empty string of at most 255 characters`, { field });
  if (/\p{Surrogate}/u.test(value)) throw badRequest(`${field} contains a lone UTF-16 surrogate (not a Unicode character)`, { field });
  return value;
}

export function createEvaluationRepository(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): EvaluationRepository {
  const select = (id: string) => db.selectFrom('evaluations').selectAll().where('id', '=', id).executeTakeFirst();

  const transition = (rawId: string, from: readonly EvaluationStatus[], to: EvaluationStatus, set: Partial<EvaluationsTable>): Promise<Evaluation> =>
    transitionById(writer, 'evaluations', 'evaluation', rawId, { from, to, set }, toEvaluation);

  return {
    async create(input) {
      const row: EvaluationsTable = {
        id: newId(),
        model: checkName(input.model, 'model'),
        model_version: input.modelVersion,
        task: checkName(input.task, 'task'),
        dataset: checkName(input.dataset, 'dataset'),
        layout: checkName(input.layout, 'layout'),
        status: 'queued',
        done: 0,
        total: input.total,
        problems: input.problems,
        created_at: Date.now(),
        started_at: null,
        finished_at: null,
        summary: null,
        report: null,
        error: null,
        attempts: 0,
        lease_owner: null,
        lease_expires_at: null,
      };
      await writer.write((trx) => trx.insertInto('evaluations').values(row).execute());
      return toEvaluation(row);
    },

    async get(rawId) {
      const id = normaliseId(rawId);
      if (id === undefined) return undefined;
      const row = await select(id);
      return row === undefined ? undefined : toEvaluation(row);
    },

    async list(query = {}) {
      const page = pageRequest('evaluations', query);
      let q = db.selectFrom('evaluations').select([...SUMMARY_COLUMNS]);
      if (query.model !== undefined) q = q.where('model', '=', checkName(query.model, 'model'));
      return readPage(q, 'created_at', page, toSummary);
    },

    delete(rawId) {
      return deleteById(writer, 'evaluations', rawId);
    },

    markRunning(id) {
      return transition(id, ['queued'], 'running', { started_at: Date.now() });
    },

    markSucceeded(id, outcome) {
      return transition(id, ['running'], 'succeeded', {
        finished_at: Date.now(),
        report: toJsonText(outcome.report, 'report'),
        summary: toJsonText(outcome.summary, 'summary'),
        done: outcome.done,
        problems: outcome.problems,
      });
    },

    markFailed(id, error, done) {
      const message = error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error;
      return transition(id, ['queued', 'running'], 'failed', { finished_at: Date.now(), error: message, ...(done !== undefined ? { done } : {}) });
    },

    failUnfinished(error) {
      return writer.write(async (trx) => {
        const result = await trx
          .updateTable('evaluations')
          .set({ status: 'failed', finished_at: Date.now(), error })
          .where('status', 'in', ['queued', 'running'])
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },
  };
}
