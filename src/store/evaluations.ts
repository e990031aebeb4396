import type { ExpressionBuilder, Kysely } from 'kysely';
import type { GroupCommitWriter } from './group-commit.js';
import { newId, normaliseId } from './ids.js';
import { fromJsonText, toJsonText } from './json-text.js';
import { type Page, pageRequest, readPage } from './pagination.js';
import { deleteById, transitionById } from './rows-by-id.js';
import { changeHeld, checkLease, checkName, claimedSet, finishedSet, type Lease, renewLeases, updateThenRead } from './leases.js';
import type { EvaluationStatus, EvaluationsTable, StoreSchema } from './schema.js';

export type { EvaluationStatus } from './schema.js';
export const EVALUATION_STATUSES: readonly EvaluationStatus[] = ['queued', 'running', 'succeeded', 'failed'];

/** What a summary shows as its row stores it, under the same names. */
type StoredAsIs = Pick<EvaluationsTable, 'id' | 'model' | 'task' | 'dataset' | 'layout' | 'status' | 'done' | 'total' | 'problems' | 'error'>;

/** An evaluation as listings show it: everything but the full report. */
export interface EvaluationSummary extends StoredAsIs {
  /** The model version it ran against (the repository's load counter). */
  modelVersion: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The headline figures of a finished evaluation (accuracy, mAP, CER, mIoU…). */
  summary: Record<string, unknown> | null;
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
  /**
   * The replica creating it, which alone holds its dataset: the evaluation is leased to it from the
   * start, so no other replica fails it as abandoned while it waits or runs there.
   */
  lease?: EvaluationLease;
}

/** Who holds an evaluation and for how long. */
export type EvaluationLease = Lease;

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
  /** queued → running, without a lease (as the three below: tools and tests; runners use the lease methods). */
  markRunning(id: string): Promise<Evaluation>;
  /** running → succeeded, with the report, its summary and the final counts. */
  markSucceeded(id: string, outcome: { report: unknown; summary: Record<string, unknown>; done: number; problems: number }): Promise<Evaluation>;
  /** queued or running → failed. */
  markFailed(id: string, error: string, done?: number): Promise<Evaluation>;
  /**
   * Marks queued or running evaluations failed (their datasets are gone with the process); returns
   * how many. Without a scope every one (one process owns the database); with `owner`, only those
   * that replica held and those nobody holds any more (lease run out, or none), so evaluations of
   * live replicas go on.
   */
  failUnfinished(error: string, scope?: { owner: string }): Promise<number>;
  /** Marks failed the queued or running evaluations whose lease ran out (their replica died); returns how many. */
  failExpired(error: string): Promise<number>;
  /**
   * queued → running in one conditional update: only while `lease.owner` holds it (or nobody
   * does), counting the attempt. Undefined when it is not so (deleted, failed, another replica's).
   */
  claim(id: string, lease: EvaluationLease): Promise<Evaluation | undefined>;
  /** Extends `lease.owner`'s leases on the unfinished evaluations among `ids`, in one update; returns the ids it still holds. */
  renew(ids: readonly string[], lease: EvaluationLease): Promise<Set<string>>;
  /** running → succeeded while `owner` holds the lease; undefined (nothing written) once it does not. */
  finishSucceeded(
    id: string,
    owner: string,
    outcome: { report: unknown; summary: Record<string, unknown>; done: number; problems: number },
  ): Promise<Evaluation | undefined>;
  /** queued or running → failed while `owner` holds the lease; undefined (nothing written) once it does not. */
  finishFailed(id: string, owner: string, error: string, done?: number): Promise<Evaluation | undefined>;
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

const UNFINISHED: readonly EvaluationStatus[] = ['queued', 'running'];

/** Unfinished rows nobody holds: the lease ran out, or there never was one (a row from before leases). */
const leaseGone = (eb: ExpressionBuilder<StoreSchema, 'evaluations'>, now: number) =>
  eb.or([eb('lease_expires_at', '<', now), eb('lease_expires_at', 'is', null)]);

function errorText(error: string): string {
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error;
}

export function createEvaluationRepository(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): EvaluationRepository {
  const select = (id: string) => db.selectFrom('evaluations').selectAll().where('id', '=', id).executeTakeFirst();

  const transition = (rawId: string, from: readonly EvaluationStatus[], to: EvaluationStatus, set: Partial<EvaluationsTable>): Promise<Evaluation> =>
    transitionById(writer, 'evaluations', 'evaluation', rawId, { from, to, set }, toEvaluation);

  /** A run's final write, while `owner` holds the evaluation in one of `from`; undefined (nothing written) once it does not. */
  const leasedChange = (rawId: string, owner: string, from: readonly EvaluationStatus[], set: Partial<EvaluationsTable>): Promise<Evaluation | undefined> =>
    changeHeld(writer, 'evaluations', rawId, checkName(owner, 'lease owner'), from, set, toEvaluation);

  return {
    async create(input) {
      const lease = input.lease === undefined ? undefined : checkLease(input.lease);
      const now = Date.now();
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
        created_at: now,
        started_at: null,
        finished_at: null,
        summary: null,
        report: null,
        error: null,
        attempts: 0,
        lease_owner: lease?.owner ?? null,
        lease_expires_at: lease === undefined ? null : now + lease.leaseMs,
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
        ...finishedSet(Date.now()),
        report: toJsonText(outcome.report, 'report'),
        summary: toJsonText(outcome.summary, 'summary'),
        done: outcome.done,
        problems: outcome.problems,
      });
    },

    markFailed(id, error, done) {
      return transition(id, UNFINISHED, 'failed', { ...finishedSet(Date.now()), error: errorText(error), ...(done !== undefined ? { done } : {}) });
    },

    failUnfinished(error, scope) {
      const owner = scope === undefined ? undefined : checkName(scope.owner, 'lease owner');
      const now = Date.now();
      return writer.write(async (trx) => {
        let q = trx
          .updateTable('evaluations')
          .set({ status: 'failed', ...finishedSet(now), error: errorText(error) })
          .where('status', 'in', UNFINISHED);
        if (owner !== undefined) q = q.where((eb) => eb.or([eb('lease_owner', '=', owner), leaseGone(eb, now)]));
        const result = await q.executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },

    failExpired(error) {
      const now = Date.now();
      return writer.write(async (trx) => {
        const result = await trx
          .updateTable('evaluations')
          .set({ status: 'failed', ...finishedSet(now), error: errorText(error) })
          .where('status', 'in', UNFINISHED)
          .where('lease_expires_at', '<', now)
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },

    async claim(rawId, lease) {
      checkLease(lease);
      const now = Date.now();
      return updateThenRead(
        writer,
        'evaluations',
        rawId,
        async (trx, id) => {
          const result = await trx
            .updateTable('evaluations')
            .set((eb) => ({ ...claimedSet(eb, lease, now), started_at: now }))
            .where('id', '=', id)
            .where('status', '=', 'queued')
            .where((eb) => eb.or([eb('lease_owner', '=', lease.owner), eb('lease_owner', 'is', null)]))
            .executeTakeFirst();
          return Number(result.numUpdatedRows) > 0;
        },
        toEvaluation,
      );
    },

    renew(rawIds, lease) {
      return renewLeases(writer, 'evaluations', rawIds, lease, UNFINISHED);
    },

    async finishSucceeded(id, owner, outcome) {
      return leasedChange(id, owner, ['running'], {
        status: 'succeeded',
        ...finishedSet(Date.now()),
        report: toJsonText(outcome.report, 'report'),
        summary: toJsonText(outcome.summary, 'summary'),
        done: outcome.done,
        problems: outcome.problems,
      });
    },

    async finishFailed(id, owner, error, done) {
      return leasedChange(id, owner, UNFINISHED, {
        status: 'failed',
        ...finishedSet(Date.now()),
        error: errorText(error),
        ...(done !== undefined ? { done } : {}),
      });
    },
  };
}
