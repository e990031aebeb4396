import { type Migration, type RawBuilder, sql } from 'kysely';

// 16 MiB on MySQL; SQLite gives any type name containing BLOB blob affinity, so one spelling serves both.
const chunkType = sql`mediumblob`;

/**
 * Image bytes kept in the database (SIGHTLINE_BLOBS=database), for replicas without a shared disk:
 * each blob's bytes in order-numbered chunks, small enough for any max_allowed_packet.
 */
export function blobChunksMigration(tableOptions: RawBuilder<unknown> | undefined): Migration {
  return {
    async up(db) {
      const table = db.schema
        .createTable('blob_chunks')
        .addColumn('sha256', 'char(64)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', chunkType, (c) => c.notNull())
        .addPrimaryKeyConstraint('blob_chunks_pk', ['sha256', 'seq']);
      await (tableOptions === undefined ? table : table.modifyEnd(tableOptions)).execute();
    },
    async down(db) {
      await db.schema.dropTable('blob_chunks').execute();
    },
  };
}
