import type { Kysely, Transaction } from 'kysely';
import type { BlobBytes } from './blob-bytes.js';
import type { GroupCommitWriter } from './group-commit.js';
import type { StoreSchema } from './schema.js';

/**
 * 512 KiB: one chunk per statement, even hex-escaped by the driver, stays far below any
 * max_allowed_packet (16 MiB by default on MariaDB), however many a group commit batches.
 */
export const CHUNK_BYTES = 512 * 1024;

/** Chunks holding `bytes` bytes; none for empty bytes. */
export const chunkCount = (bytes: number): number => Math.ceil(bytes / CHUNK_BYTES);

/**
 * Bytes in `blob_chunks` (SIGHTLINE_BLOBS=database), so replicas sharing a database share
 * images without a shared disk. Chunks are written in the transaction that inserts the row
 * and removed in the one that deletes it, so a committed row always has all of them.
 */
export function chunkBlobBytes(db: Kysely<StoreSchema>, writer: GroupCommitWriter<StoreSchema>): BlobBytes {
  const insertChunks = async (trx: Transaction<StoreSchema>, sha256: string, bytes: Uint8Array) => {
    for (let seq = 0; seq < chunkCount(bytes.byteLength); seq++) {
      const start = seq * CHUNK_BYTES;
      // A Buffer view: drivers bind Buffers as binary, not plain Uint8Arrays.
      const data = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(CHUNK_BYTES, bytes.byteLength - start));
      // Ignored when present: a chunk of a hash, wherever it came from, holds these very bytes.
      await trx.insertInto('blob_chunks').values({ sha256, seq, data }).orIgnore().execute();
    }
  };

  return {
    kind: 'database',

    async complete(sha256, bytes) {
      const row = await db
        .selectFrom('blob_chunks')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('sha256', '=', sha256)
        .executeTakeFirstOrThrow();
      return Number(row.n) === chunkCount(bytes);
    },

    async beforeInsert() {},

    insertWith: insertChunks,

    async repair(sha256, bytes) {
      await writer.write(async (trx) => {
        // A row deleted meanwhile (by another replica) gets no chunks back.
        const row = await trx.selectFrom('blobs').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
        if (row !== undefined) await insertChunks(trx, sha256, bytes);
      });
    },

    async read(sha256) {
      const rows = await db.selectFrom('blob_chunks').select(['seq', 'data']).where('sha256', '=', sha256).orderBy('seq').execute();
      // A gap in the numbering is a lost chunk; a short tail shows in the length the caller checks.
      if (rows.some((r, i) => Number(r.seq) !== i)) return undefined;
      return Buffer.concat(rows.map((r) => r.data));
    },

    async deleteWith(trx, sha256) {
      await trx.deleteFrom('blob_chunks').where('sha256', '=', sha256).execute();
    },

    async afterDelete() {},
  };
}
