import type { Kysely, Transaction } from 'kysely';
import { badRequest, conflict, notFound } from '../errors.js';
import { parseSha256 } from './content-hash.js';
import type { GroupCommitWriter } from './group-commit.js';
import { newId } from './ids.js';
import { fromJsonText, toJsonText } from './json-text.js';
import { type Page, pageRequest, readPage } from './pagination.js';
import { deleteById, getById, transitionById } from './rows-by-id.js';
import type { JobStatus, JobsTable, StoreSchema } from './schema.js';
import { isUniqueViolation } from './unique-violation.js';

export type { JobStatus } from './schema.js';

export interface Job {
  id: string;
  model: string;
  imageSha256: string;
  status: JobStatus;
  idempotencyKey: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The parsed JSON result of a succeeded job. */
  result: unknown;
  error: string | null;
}

export interface CreateJobInput {
  model: string;
  imageSha256: string;
  idempotencyKey?: string | null;
}

export interface ListJobsQuery {
  status?: JobStatus;
  model?: string;
  /** 1 to 1000, default 50. */
  limit?: number;
  cursor?: string | null;
}

export interface JobRepository {
  /**
   * Queues a job for a stored image (404 if the image is unknown). With an idempotency
   * key already used, returns that job with `created: false`; 409 if the key was used
   * for a different model or image.
   */
  create(input: CreateJobInput): Promise<{ job: Job; created: boolean }>;
  get(id: string): Promise<Job | undefined>;
  /** Newest first. */
  list(query?: ListJobsQuery): Promise<Page<Job>>;
  delete(id: string): Promise<boolean>;
  /** queued → running. 404 when unknown, 409 from any other status. */
  markRunning(id: string): Promise<Job>;
  /** running → succeeded, storing the result as JSON. */
  markSucceeded(id: string, result: unknown): Promise<Job>;
  /** queued or running → failed, storing the message. */
  markFailed(id: string, error: string): Promise<Job>;
  /** Queued and running jobs, oldest first: what a restart has to pick up again. */
  listUnfinished(): Promise<Job[]>;
  /** Moves running jobs back to queued (their worker is gone after a restart); returns how many. */
  resetRunning(): Promise<number>;
}

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed'];

/** Error messages are stored in a TEXT column (64 KiB on MySQL); keep them well inside. */
const MAX_ERROR_LENGTH = 8000;

function toJob(row: JobsTable): Job {
  return {
    id: row.id,
    model: row.model,
    imageSha256: row.image_sha256,
    status: row.status,
    idempotencyKey: row.idempotency_key,
    createdAt: Number(row.created_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    result: fromJsonText(row.result),
    error: row.error,
  };
}

function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 255) {
    throw badRequest(`${field} must be a non-empty string of at most 255 characters`, { field });
  }
  // A lone surrogate has no UTF-8 form: SQLite and MySQL would each store something else.
  if (/\p{Surrogate}/u.test(value)) throw badRequest(`${field} contains a lone UTF-16 surrogate (not a Unicode character)`, { field });
  return value;
}

export function createJobRepository(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): JobRepository {
  const selectByKey = (q: Kysely<StoreSchema> | Transaction<StoreSchema>, key: string) =>
    q.selectFrom('jobs').selectAll().where('idempotency_key', '=', key).executeTakeFirst();

  const transition = (rawId: string, from: readonly JobStatus[], to: JobStatus, set: Partial<JobsTable>): Promise<Job> =>
    transitionById(writer, 'jobs', 'job', rawId, { from, to, set }, toJob);

  function sameRequest(job: Job, model: string, imageSha256: string): { job: Job; created: boolean } {
    if (job.model !== model || job.imageSha256 !== imageSha256) {
      throw conflict('this idempotency key was already used for a different model or image');
    }
    return { job, created: false };
  }

  return {
    async create(input) {
      const model = checkName(input?.model, 'model');
      const imageSha256 = parseSha256(input.imageSha256, 'imageSha256');
      const key = input.idempotencyKey ?? null;
      if (key !== null) checkName(key, 'idempotencyKey');
      const row: JobsTable = {
        id: newId(),
        model,
        image_sha256: imageSha256,
        status: 'queued',
        idempotency_key: key,
        created_at: Date.now(),
        started_at: null,
        finished_at: null,
        result: null,
        error: null,
        attempts: 0,
        lease_owner: null,
        lease_expires_at: null,
      };
      let outcome: { kind: 'created' } | { kind: 'existing'; job: Job } | { kind: 'no-image' };
      try {
        outcome = await writer.write(async (trx) => {
          // Sees an earlier write of the same group with this key, so such a pair
          // resolves here without failing the group.
          if (key !== null) {
            const existing = await selectByKey(trx, key);
            if (existing !== undefined) return { kind: 'existing', job: toJob(existing) };
          }
          const image = await trx.selectFrom('blobs').select('sha256').where('sha256', '=', imageSha256).executeTakeFirst();
          if (image === undefined) return { kind: 'no-image' };
          await trx.insertInto('jobs').values(row).execute();
          return { kind: 'created' };
        });
      } catch (err) {
        // A concurrent transaction committed the same key first: the unique index
        // decided the race, so report the winner.
        if (key === null || !isUniqueViolation(err)) throw err;
        const winner = await selectByKey(db, key);
        if (winner === undefined) throw err;
        return sameRequest(toJob(winner), model, imageSha256);
      }
      if (outcome.kind === 'no-image') throw notFound(`image ${imageSha256} not found`);
      if (outcome.kind === 'existing') return sameRequest(outcome.job, model, imageSha256);
      return { job: toJob(row), created: true };
    },

    get(rawId) {
      return getById(db, 'jobs', rawId, toJob);
    },

    async list(query = {}) {
      const page = pageRequest('jobs', query);
      if (query.status !== undefined && !JOB_STATUSES.includes(query.status)) {
        throw badRequest(`status must be one of ${JOB_STATUSES.join(', ')}`, { field: 'status' });
      }
      let q = db.selectFrom('jobs').selectAll();
      if (query.status !== undefined) q = q.where('status', '=', query.status);
      if (query.model !== undefined) q = q.where('model', '=', checkName(query.model, 'model'));
      return readPage(q, 'created_at', page, toJob);
    },

    delete(rawId) {
      return deleteById(writer, 'jobs', rawId);
    },

    async markRunning(id) {
      return transition(id, ['queued'], 'running', { started_at: Date.now() });
    },

    async markSucceeded(id, result) {
      const text = toJsonText(result, 'result');
      return transition(id, ['running'], 'succeeded', { finished_at: Date.now(), result: text });
    },

    async markFailed(id, error) {
      if (typeof error !== 'string') throw badRequest('error must be a string', { field: 'error' });
      const message = error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error;
      return transition(id, ['queued', 'running'], 'failed', { finished_at: Date.now(), error: message });
    },

    async listUnfinished() {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .where('status', 'in', ['queued', 'running'])
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toJob);
    },

    async resetRunning() {
      return writer.write(async (trx) => {
        const result = await trx.updateTable('jobs').set({ status: 'queued', started_at: null }).where('status', '=', 'running').executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },
  };
}
