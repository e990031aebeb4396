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
  return writer.write(async (trx) => {
    await trx
      .updateTable(table)
      .set({ lease_expires_at: expires })
      .where('lease_owner', '=', lease.owner)
      .where('status', 'in', statuses as never)
      .where('id', 'in', ids)
      .execute();
    // Read back rather than counted: MySQL counts a row whose value did not change as not updated.
    const held = await trx
      .selectFrom(table)
      .select('id')
      .where('lease_owner', '=', lease.owner)
      .where('status', 'in', statuses as never)
      .where('id', 'in', ids)
      .execute();
    return new Set(held.map((r) => r.id));
  });
}
