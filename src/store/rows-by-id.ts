import type { Kysely } from 'kysely';
import type { GroupCommitWriter } from './group-commit.js';
import { normaliseId } from './ids.js';
import type { StoreSchema } from './schema.js';

/** Tables whose rows clients name by id. */
type ById = 'jobs' | 'detections' | 'evaluations';

/** The row a client-given id names, mapped; undefined when the id cannot be one of ours or names no row. */
export async function getById<TB extends ById, T>(db: Kysely<StoreSchema>, table: TB, rawId: string, map: (row: StoreSchema[TB]) => T): Promise<T | undefined> {
  const id = normaliseId(rawId);
  if (id === undefined) return undefined;
  const row = await db
    .selectFrom(table as ById)
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
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
