import type { Kysely } from 'kysely';
import { conflict, notFound } from '../errors.js';
import type { GroupCommitWriter } from './group-commit.js';
import { normaliseId } from './ids.js';
import type { StoreSchema } from './schema.js';

/** Tables whose rows clients name by id. */
type ById = 'jobs' | 'detections' | 'evaluations';

/** The row a client-given id names, mapped; undefined when the id cannot be one of ours or names no row. */
export async function getById<TB extends ById, T>(db: Kysely<StoreSchema>, table: TB, rawId: string, map: (row: StoreSchema[TB]) => T): Promise<T | undefined> {
  const id = normaliseId(rawId);
  if (id === undefined) return undefined;
  // Widened to the union: Kysely cannot type a query over a table parameter.
  const from: ById = table;
  const row = await db.selectFrom(from).selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : map(row as StoreSchema[TB]);
}

/** Deletes the row a client-given id names, in one write; false when there was none. */
export async function deleteById(writer: GroupCommitWriter<StoreSchema>, table: ById, rawId: string): Promise<boolean> {
  const id = normaliseId(rawId);
  if (id === undefined) return false;
  return writer.write(async (trx) => {
    const result = await trx.deleteFrom(table).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  });
}

/** Tables whose rows move through statuses. */
type WithStatus = 'jobs' | 'evaluations';

/**
 * Moves the row a client-given id names from one of `from` to `to`, setting `set` with it, in one
 * conditional update inside the group. Expected outcomes (unknown id, wrong status) are returned
 * from the group and thrown here (404, 409), so they do not fail the other writes of the group.
 * `noun` names the row in those messages.
 */
export async function transitionById<TB extends WithStatus, T>(
  writer: GroupCommitWriter<StoreSchema>,
  table: TB,
  noun: string,
  rawId: string,
  change: { from: readonly StoreSchema[TB]['status'][]; to: StoreSchema[TB]['status']; set: Partial<StoreSchema[TB]> },
  map: (row: StoreSchema[TB]) => T,
): Promise<T> {
  const id = normaliseId(rawId);
  if (id === undefined) throw notFound(`${noun} ${String(rawId)} not found`);
  const { from, to, set } = change;
  // Widened to the union: Kysely cannot type a query over a table parameter.
  const rows: WithStatus = table;
  const outcome = await writer.write(async (trx) => {
    const updated = await trx
      .updateTable(rows)
      .set({ ...(set as Partial<StoreSchema[WithStatus]>), status: to })
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    const row = await trx.selectFrom(rows).selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) return { kind: 'missing' as const };
    return Number(updated.numUpdatedRows) > 0 ? { kind: 'done' as const, row } : { kind: 'refused' as const, status: row.status };
  });
  if (outcome.kind === 'missing') throw notFound(`${noun} ${id} not found`);
  if (outcome.kind === 'refused') throw conflict(`${noun} ${id} is ${outcome.status}; it cannot become ${to}`);
  return map(outcome.row);
}
