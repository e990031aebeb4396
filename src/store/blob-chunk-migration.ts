import { type Migration, sql } from 'kysely';
import { type TableOptions, tableMigration } from './table-migration.js';

// 16 MiB on MySQL; SQLite gives any type name containing BLOB blob affinity, so one spelling serves both.
const chunkType = sql`mediumblob`;

/**
 * Image bytes kept in the database (SIGHTLINE_BLOBS=database), for replicas without a shared disk:
 * each blob's bytes in order-numbered chunks, small enough for any max_allowed_packet.
 */
export function blobChunksMigration(tableOptions: TableOptions): Migration {
  return tableMigration('blob_chunks', tableOptions, (table) =>
    table
      .addColumn('sha256', 'char(64)', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('data', chunkType, (c) => c.notNull())
      .addPrimaryKeyConstraint('blob_chunks_pk', ['sha256', 'seq']),
  );
}
