import type { CreateTableBuilder, Kysely, Migration, RawBuilder } from 'kysely';

/** MySQL's table options (charset, collation, engine), appended to CREATE TABLE; undefined on SQLite. */
export type TableOptions = RawBuilder<unknown> | undefined;

/** Adds a table's columns (and its constraints) to its CREATE TABLE. */
export type TableColumns = (table: CreateTableBuilder<string>) => CreateTableBuilder<string, string>;

/** Creates `table` with `columns`, under the database's table options. */
export async function createTable(db: Kysely<unknown>, table: string, tableOptions: TableOptions, columns: TableColumns): Promise<void> {
  const builder = columns(db.schema.createTable(table));
  await (tableOptions === undefined ? builder : builder.modifyEnd(tableOptions)).execute();
}

/** A migration that adds one table: created with `columns`, then what `after` adds to it (indexes); dropped on the way down. */
export function tableMigration(table: string, tableOptions: TableOptions, columns: TableColumns, after?: (db: Kysely<unknown>) => Promise<void>): Migration {
  return {
    async up(db) {
      await createTable(db, table, tableOptions, columns);
      await after?.(db);
    },
    async down(db) {
      await db.schema.dropTable(table).execute();
    },
  };
}
