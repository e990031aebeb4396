import type { ExpressionBuilder, Transaction } from 'kysely';
import { badRequest } from '../errors.js';
import type { GroupCommitWriter } from './group-commit.js';
import { normaliseId } from './ids.js';
import type { StoreSchema } from './schema.js';

/** Who holds a leased row (a job, an evaluation) and for how long. */
export interface Lease {
  /** The replica id. */
  owner: string;
  /** Milliseconds from now the lease runs out unless renewed. */
  leaseMs: number;
}

/** The tables whose rows replicas run under a lease. */
export type LeasedTable = 'jobs' | 'evaluations';

/** A name column's value: 1 to 255 characters that both databases store alike. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 255) {
    throw badRequest(`${field} must be a non-empty string of at most 255 characters`, { field });
  }
  // A lone surrogate has no UTF-8 form: SQLite and MySQL would each store something else.
  if (/\p{Surrogate}/u.test(value)) throw badRequest(`${field} contains a lone UTF-16 surrogate (not a Unicode character)`, { field });
  return value;
}

export function checkLease<L extends Lease>(lease: L): L {
  checkName(lease?.owner, 'lease owner');
  if (!Number.isInteger(lease.leaseMs) || lease.leaseMs < 1) throw new RangeError(`leaseMs must be a positive integer, got ${lease.leaseMs}`);
  return lease;
}

/** Ids as callers name them, lower case; those that cannot be ours left out. */
export function canonicalIds(ids: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of ids) {
    const id = normaliseId(raw);
    if (id !== undefined) out.add(id);
  }
  return [...out];
}

/** A finished row keeps its last owner (who ran it) but no expiry: nobody holds it any more. */
export const finishedSet = (now: number) => ({ finished_at: now, lease_expires_at: null });

/** What a claim writes: running, held by `lease.owner` until the lease runs out, one attempt more. */
export const claimedSet = (eb: ExpressionBuilder<StoreSchema, LeasedTable>, lease: Lease, now: number) => ({
  status: 'running' as const,
  lease_owner: lease.owner,
  lease_expires_at: now + lease.leaseMs,
  attempts: eb('attempts', '+', 1),
});

/** Rows a replica holds: those among `ids` that `owner` holds in one of `statuses`. */
interface Held {
  owner: string;
  statuses: readonly string[];
  ids: readonly string[];
}

const heldBy = (eb: ExpressionBuilder<StoreSchema, LeasedTable>, { owner, statuses, ids }: Held) =>
  eb.and([eb('lease_owner', '=', owner), eb('status', 'in', statuses as never), eb('id', 'in', ids)]);

/** Sets `set` on the `held` rows of `table`, inside a write; answers how many it changed. */
export async function updateHeld<TB extends LeasedTable>(trx: Transaction<StoreSchema>, table: TB, held: Held, set: Partial<StoreSchema[TB]>): Promise<number> {
  // Widened to the union: Kysely cannot type a query over a table parameter.
  const rows: LeasedTable = table;
  const result = await trx
    .updateTable(rows)
    .set(set as Partial<StoreSchema[LeasedTable]>)
    .where((eb) => heldBy(eb, held))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * One conditional update of the row a client-given id names, in one write: `update` changes it and
 * answers whether it did. The row as it is then, mapped; undefined when the id cannot be one of ours
 * or the update changed nothing.
 */
export function updateThenRead<TB extends LeasedTable, T>(
  writer: GroupCommitWriter<StoreSchema>,
  table: TB,
  rawId: string,
  update: (trx: Transaction<StoreSchema>, id: string) => Promise<boolean>,
  map: (row: StoreSchema[TB]) => T,
): Promise<T | undefined> {
  const id = normaliseId(rawId);
  if (id === undefined) return Promise.resolve(undefined);
  const rows: LeasedTable = table;
  return writer.write(async (trx) => {
    if (!(await update(trx, id))) return undefined;
    const row = await trx.selectFrom(rows).selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : map(row);
  });
}

/**
 * Sets `set` on the row a client-given id names while `owner` holds it in one of `from` (a run's final
 * write): the row as it is then, or undefined (nothing written) once it is not so.
 */
export function changeHeld<TB extends LeasedTable, T>(
  writer: GroupCommitWriter<StoreSchema>,
  table: TB,
  rawId: string,
  owner: string,
  from: readonly StoreSchema[TB]['status'][],
  set: Partial<StoreSchema[TB]>,
  map: (row: StoreSchema[TB]) => T,
): Promise<T | undefined> {
  return updateThenRead(writer, table, rawId, async (trx, id) => (await updateHeld(trx, table, { owner, statuses: from, ids: [id] }, set)) > 0, map);
}

/**
 * Extends `lease` over those of `rawIds` its owner still holds in one of `statuses`; answers the ids
 * still held (a row taken over or finished meanwhile is not).
 */
export async function renewLeases(
  writer: GroupCommitWriter<StoreSchema>,
  table: LeasedTable,
  rawIds: readonly string[],
  lease: Lease,
  statuses: readonly string[],
): Promise<Set<string>> {
  checkLease(lease);
  const ids = canonicalIds(rawIds);
  if (ids.length === 0) return new Set<string>();
  const expires = Date.now() + lease.leaseMs;
  const held: Held = { owner: lease.owner, statuses, ids };
  return writer.write(async (trx) => {
    await updateHeld(trx, table, held, { lease_expires_at: expires });
    // Read back rather than counted: MySQL counts a row whose value did not change as not updated.
    const still = await trx
      .selectFrom(table)
      .select('id')
      .where((eb) => heldBy(eb, held))
      .execute();
    return new Set(still.map((r) => r.id));
  });
}
