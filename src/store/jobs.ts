import { type ExpressionBuilder, type Kysely, MysqlAdapter, type Transaction } from 'kysely';
import { badRequest, conflict, notFound } from '../errors.js';
import { parseSha256 } from './content-hash.js';
import type { GroupCommitWriter } from './group-commit.js';
import { newId } from './ids.js';
import { fromJsonText, toJsonText } from './json-text.js';
import { type Page, pageRequest, readPage } from './pagination.js';
import { deleteById, getById, transitionById } from './rows-by-id.js';
import type { JobStatus, JobsTable, StoreSchema } from './schema.js';
import { canonicalIds, changeHeld, checkLease, checkName, claimedSet, finishedSet, type Lease, renewLeases, updateHeld, updateThenRead } from './leases.js';
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
  /** Times a replica claimed it: 1 for a job that ran once, more when one was taken over or given back. */
  attempts: number;
  /** The replica holding it while running; after it finished, the one that finished it. */
  replica: string | null;
  /** Epoch ms after which another replica may take a running job over; null when not running. */
  leaseExpiresAt: number | null;
}

/** Who holds a job and for how long. */
export type JobLease = Lease;

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
  /**
   * queued → running, without a lease. 404 when unknown, 409 from any other status. These three
   * ignore leases; replicas running jobs use `claim` and `finishSucceeded`/`finishFailed`.
   */
  markRunning(id: string): Promise<Job>;
  /** running → succeeded, storing the result as JSON. */
  markSucceeded(id: string, result: unknown): Promise<Job>;
  /** queued or running → failed, storing the message. */
  markFailed(id: string, error: string): Promise<Job>;
  /** Queued and running jobs, oldest first: what a restart has to pick up again. */
  listUnfinished(): Promise<Job[]>;
  /**
   * Moves running jobs back to queued (their worker is gone after a restart); returns how many.
   * Without a scope every running job (one process owns the database); with `owner`, only the
   * ones that replica held and those whose lease ran out, so live replicas keep theirs.
   */
  resetRunning(scope?: { owner: string }): Promise<number>;
  /**
   * Claims one job in one conditional update that only one replica can win: a queued job, a
   * running one whose lease ran out (or has none), or one `lease.owner` already holds. Returns the
   * job as claimed (running, attempts counted), or undefined when it is not claimable (held by
   * another replica, finished, deleted, or not an id of ours).
   */
  claim(id: string, lease: JobLease): Promise<Job | undefined>;
  /**
   * Claims up to `limit` claimable jobs (queued, or running under a lease that ran out), oldest
   * first; on MySQL/MariaDB rows another transaction is claiming are skipped rather than waited for.
   */
  claimNext(lease: JobLease, limit: number): Promise<Job[]>;
  /** Extends `lease.owner`'s leases on the running jobs among `ids`, in one update; returns the ids it still holds. */
  renew(ids: readonly string[], lease: JobLease): Promise<Set<string>>;
  /** Puts `owner`'s running jobs among `ids` back to queued without a lease, so any replica takes them at once; returns how many. */
  release(ids: readonly string[], owner: string): Promise<number>;
  /** running → succeeded while `owner` holds the lease; undefined (nothing written) once it does not. */
  finishSucceeded(id: string, owner: string, result: unknown): Promise<Job | undefined>;
  /** running → failed while `owner` holds the lease; undefined (nothing written) once it does not. */
  finishFailed(id: string, owner: string, error: string): Promise<Job | undefined>;
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
    attempts: Number(row.attempts),
    replica: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
  };
}

function errorText(error: unknown): string {
  if (typeof error !== 'string') throw badRequest('error must be a string', { field: 'error' });
  return error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH)}…` : error;
}

/** Running rows no live replica holds: the lease ran out, or there never was one (a row from before leases). */
const leaseGone = (eb: ExpressionBuilder<StoreSchema, 'jobs'>, now: number) =>
  eb.and([eb('status', '=', 'running'), eb.or([eb('lease_expires_at', '<', now), eb('lease_expires_at', 'is', null)])]);

/** What a scan may claim: queued rows and running rows whose lease is gone. */
const claimable = (eb: ExpressionBuilder<StoreSchema, 'jobs'>, now: number) => eb.or([eb('status', '=', 'queued'), leaseGone(eb, now)]);

/** Back in the queue: not started, nobody's. */
const queuedSet = { status: 'queued', started_at: null, lease_owner: null, lease_expires_at: null } as const;

export function createJobRepository(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): JobRepository {
  const selectByKey = (q: Kysely<StoreSchema> | Transaction<StoreSchema>, key: string) =>
    q.selectFrom('jobs').selectAll().where('idempotency_key', '=', key).executeTakeFirst();

  // Only MySQL/MariaDB lock rows; SQLite serialises writers on the whole file.
  const rowLocks = db.getExecutor().adapter instanceof MysqlAdapter;

  /** The conditional update of a claim, inside a write; true when this claim won. */
  async function claimRow(trx: Transaction<StoreSchema>, id: string, lease: JobLease, now: number, ownToo: boolean): Promise<boolean> {
    const result = await trx
      .updateTable('jobs')
      .set((eb) => ({ ...claimedSet(eb, lease, now), started_at: eb.fn.coalesce('started_at', eb.val(now)) }))
      .where('id', '=', id)
      .where((eb) => (ownToo ? eb.or([claimable(eb, now), eb.and([eb('status', '=', 'running'), eb('lease_owner', '=', lease.owner)])]) : claimable(eb, now)))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The conditional update that finishes a run the owner still holds; the row as it is then, or undefined when it was not. */
  const finish = (rawId: string, owner: string, set: Partial<JobsTable>): Promise<Job | undefined> =>
    changeHeld(writer, 'jobs', rawId, owner, ['running'], set, toJob);

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
      return transition(id, ['running'], 'succeeded', { ...finishedSet(Date.now()), result: text });
    },

    async markFailed(id, error) {
      return transition(id, ['queued', 'running'], 'failed', { ...finishedSet(Date.now()), error: errorText(error) });
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

    async resetRunning(scope) {
      const owner = scope === undefined ? undefined : checkName(scope.owner, 'lease owner');
      const now = Date.now();
      return writer.write(async (trx) => {
        let q = trx.updateTable('jobs').set(queuedSet).where('status', '=', 'running');
        if (owner !== undefined) q = q.where((eb) => eb.or([eb('lease_owner', '=', owner), leaseGone(eb, now)]));
        const result = await q.executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },

    async claim(rawId, lease) {
      checkLease(lease);
      const now = Date.now();
      return updateThenRead(writer, 'jobs', rawId, (trx, id) => claimRow(trx, id, lease, now, true), toJob);
    },

    async claimNext(lease, limit) {
      checkLease(lease);
      if (!Number.isInteger(limit) || limit < 1) return [];
      const now = Date.now();
      // Candidates from an unlocked read through the indexes (status, created_at) and (status,
      // lease_expires_at): a locking scan would hold every row it passes over.
      const oldest = (q: ReturnType<typeof candidates>) => q.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).execute();
      const candidates = () => db.selectFrom('jobs').select(['id', 'created_at']);
      const [queued, expired] = await Promise.all([
        oldest(candidates().where('status', '=', 'queued')),
        oldest(candidates().where((eb) => leaseGone(eb, now))),
      ]);
      const ids = [...queued, ...expired]
        .sort((a, b) => Number(a.created_at) - Number(b.created_at) || (a.id < b.id ? -1 : 1))
        .slice(0, limit)
        .map((r) => r.id);
      if (ids.length === 0) return [];
      return writer.write(async (trx) => {
        let mine = ids;
        if (rowLocks) {
          // Locks the candidates by primary key, passing over those another replica is claiming now.
          const free = await trx
            .selectFrom('jobs')
            .select('id')
            .where('id', 'in', ids)
            .where((eb) => claimable(eb, now))
            .forUpdate()
            .skipLocked()
            .execute();
          const locked = new Set(free.map((r) => r.id));
          mine = ids.filter((id) => locked.has(id));
        }
        const won: string[] = [];
        for (const id of mine) if (await claimRow(trx, id, lease, now, false)) won.push(id);
        if (won.length === 0) return [];
        const rows = await trx.selectFrom('jobs').selectAll().where('id', 'in', won).execute();
        const byId = new Map(rows.map((row) => [row.id, toJob(row)]));
        return won.flatMap((id) => byId.get(id) ?? []);
      });
    },

    renew(rawIds, lease) {
      return renewLeases(writer, 'jobs', rawIds, lease, ['running']);
    },

    async release(rawIds, owner) {
      checkName(owner, 'lease owner');
      const ids = canonicalIds(rawIds);
      if (ids.length === 0) return 0;
      return writer.write((trx) => updateHeld(trx, 'jobs', { owner, statuses: ['running'], ids }, queuedSet));
    },

    async finishSucceeded(id, owner, result) {
      const text = toJsonText(result, 'result');
      return finish(id, owner, { ...finishedSet(Date.now()), status: 'succeeded', result: text });
    },

    async finishFailed(id, owner, error) {
      const message = errorText(error);
      return finish(id, owner, { ...finishedSet(Date.now()), status: 'failed', error: message });
    },
  };
}
