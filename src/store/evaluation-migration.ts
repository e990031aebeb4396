import { type Migration, sql } from 'kysely';
import { type TableOptions, tableMigration } from './table-migration.js';

// Reports (confusion matrices, curves) outgrow TEXT's 64 KiB on MySQL; SQLite reads mediumtext as text.
const longText = sql`mediumtext`;

/** The evaluations table: one row per run of a model over a labelled dataset, its report as JSON. */
export function evaluationsMigration(tableOptions: TableOptions): Migration {
  return tableMigration(
    'evaluations',
    tableOptions,
    (table) =>
      table
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('model', 'varchar(255)', (c) => c.notNull())
        .addColumn('model_version', 'integer')
        .addColumn('task', 'varchar(32)', (c) => c.notNull())
        .addColumn('dataset', 'varchar(255)', (c) => c.notNull())
        .addColumn('layout', 'varchar(32)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('done', 'integer', (c) => c.notNull())
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('problems', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('finished_at', 'bigint')
        .addColumn('summary', 'text')
        .addColumn('report', longText)
        .addColumn('error', 'text'),
    async (db) => {
      // Listings: every evaluation, or one model's, newest first.
      await db.schema.createIndex('evaluations_created').on('evaluations').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('evaluations_model_created').on('evaluations').columns(['model', 'created_at', 'id']).execute();
      await db.schema.createIndex('evaluations_status').on('evaluations').columns(['status']).execute();
    },
  );
}
